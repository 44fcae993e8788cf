//! `lumenflow serve --config FILE`: starts the daemon of `lumenflow-serve` (the
//! semantics are there and in the core; this only reads the configuration and runs it).

use std::path::Path;
use std::process::ExitCode;

/// Runs the daemon until SIGTERM or SIGINT. A configuration, policy, key or evidence
/// problem at start is an error (exit 1) naming the file.
pub fn serve(config: &Path) -> Result<ExitCode, String> {
    let cfg = lumenflow_serve::Config::load(config).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(lumenflow_serve::run(cfg))
        .map_err(|e| format!("lumenflow serve: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// `lumenflow hash-secret`: reads one secret from standard input (a trailing newline is
/// not part of it) and prints its Argon2id PHC string.
pub fn hash_secret() -> Result<ExitCode, String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("hash-secret: reading standard input: {e}"))?;
    let secret = line.strip_suffix('\n').unwrap_or(&line);
    let secret = secret.strip_suffix('\r').unwrap_or(secret);
    let hash = lumenflow_serve::http::auth::hash_secret(secret)
        .map_err(|e| format!("hash-secret: {e}"))?;
    println!("{hash}");
    Ok(ExitCode::SUCCESS)
}
