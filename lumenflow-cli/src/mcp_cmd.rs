//! `lumenflow mcp`: reads the options as `decide` and `hook` do (policy layers, context,
//! evidence, key, registry), then hands over to `lumenflow-mcp`, which serves.

use crate::{load_set, read_context};
use lumenflow_core::hooks::mcp::{Profile, Resolve};
use lumenflow_core::{Context, KeyPair};
use lumenflow_mcp::{Gate, GateOptions, Target};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// The command line of `lumenflow mcp`.
pub struct McpOptions {
    pub policies: Vec<PathBuf>,
    pub evidence: PathBuf,
    pub key: PathBuf,
    pub server_name: String,
    pub context: Option<PathBuf>,
    pub project_dir: Option<PathBuf>,
    pub hide_denied: bool,
    pub profile: Option<String>,
    pub session: String,
    pub durability: String,
    pub url: Option<String>,
    pub listen: Option<std::net::SocketAddr>,
    pub command: Vec<String>,
}

/// Serves until the client goes away (stdio) or the process is interrupted (HTTP).
pub fn run(o: McpOptions) -> Result<ExitCode, String> {
    let set = load_set(&o.policies)?;
    let cwd = std::env::current_dir()
        .map_err(|e| format!("cannot read the current directory: {e}"))?
        .display()
        .to_string();
    let mut context = match &o.context {
        Some(p) => read_context(p)?,
        None => Context::new(),
    };
    if !context.values().contains_key("worktree") {
        let dir = match &o.project_dir {
            Some(p) => p.display().to_string(),
            None => cwd.clone(),
        };
        context = context.with("worktree", dir);
    }
    context = context.with("client", "mcp");
    let target = match (&o.url, o.command.split_first()) {
        (Some(u), _) => {
            if !u.starts_with("http://") {
                return Err(format!(
                    "--url {u}: only http:// is supported (this build has no TLS; front an https server through a local tunnel)"
                ));
            }
            Target::Url(u.clone())
        }
        (None, Some((program, args))) => Target::Command {
            program: program.clone(),
            args: args.to_vec(),
        },
        (None, None) => {
            return Err("give the server command after `--`, or --url".into());
        }
    };
    // A launched server runs in this directory with this environment; a server behind
    // a URL resolves paths somewhere unknown, so relative paths and `~` are refused.
    let resolve = match target {
        Target::Command { .. } => Resolve {
            cwd,
            home: std::env::var("HOME").ok().filter(|h| !h.is_empty()),
        },
        Target::Url(_) => Resolve::default(),
    };
    let key = KeyPair::from_file(&o.key).map_err(|e| e.to_string())?;
    let gate = Gate::new(GateOptions {
        server: o.server_name.clone(),
        policies: set,
        context,
        dir: o.evidence.clone(),
        key,
        registry: Some(crate::registry()?),
        durability: o.durability.parse()?,
        hide_denied: o.hide_denied,
        profile: o.profile.as_deref().and_then(Profile::from_name),
        resolve,
        session: o.session.clone(),
    })
    .map_err(|e| e.to_string())?;
    let gate = Arc::new(gate);
    let served = match o.listen {
        Some(addr) => lumenflow_mcp::serve::http(gate, target, addr, |bound| {
            eprintln!("lumenflow mcp: serving Streamable HTTP on http://{bound}/mcp");
        }),
        None => lumenflow_mcp::serve::stdio(gate, target),
    };
    served.map_err(|e| format!("lumenflow mcp: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
