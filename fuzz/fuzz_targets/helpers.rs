//! The helper functions rules call (shell, paths, net, secrets) on arbitrary strings.
//! The input is split at its first NUL into `a` and `b` (`b` empty if there is none).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumenflow_core::{net, paths, secrets, shell};
use lumenflow_fuzz::{init, text, tolerant};

fuzz_target!(|data: &[u8]| {
    init(data);
    let Some(s) = text(data) else { return };
    let (a, b) = s.split_once('\0').unwrap_or((s, ""));

    // shell. In tolerant mode (LUMENFLOW_FUZZ_ALLOW_CAUGHT_PANICS=1) a panic inside
    // shell::parse is caught here and only recorded (see lumenflow_fuzz::init), so that
    // fuzzing can go on past the known brush-parser panic (see README, Findings).
    let parsed = if tolerant() {
        std::panic::catch_unwind(|| shell::parse(a)).unwrap_or_else(|_| {
            Err(shell::ShellError::Syntax("panicked".into()))
        })
    } else {
        shell::parse(a)
    };
    if let Ok(parsed) = parsed {
        for c in &parsed.commands {
            let _ = c.positionals().count();
            let _ = c.options().count();
            let _ = c.has_option(b);
        }
        if let Ok(pattern) = shell::Pattern::new(b) {
            let _ = parsed.invokes(&pattern);
        }
    }

    // paths
    for x in [a, b] {
        let n = paths::normalize(x);
        assert_eq!(paths::normalize(&n), n, "normalize is not idempotent on {x:?}");
        assert_eq!(paths::is_normal(x), n == x, "is_normal({x:?}) disagrees with normalize = {n:?}");
        let _ = paths::base_name(x);
        let _ = paths::extension(x);
    }
    let inside = paths::within(a, b);
    if inside && b.starts_with('/') {
        let nb = paths::normalize(b);
        let full = if a.starts_with('/') {
            paths::normalize(a)
        } else {
            paths::normalize(&format!("{b}/{a}"))
        };
        assert!(
            full.starts_with(&nb)
                && (nb == "/" || full == nb || full[nb.len()..].starts_with('/')),
            "within({a:?}, {b:?}) but {full:?} is not under {nb:?}"
        );
    }
    let _ = paths::resolve(b, a);
    let _ = paths::matches(a, b);

    // net
    if let Ok(u) = net::parse_url(a) {
        let _ = net::host_matches(&u.host, b);
    }
    let _ = net::host_matches(a, b);
    let _ = net::host_matches(b, a);

    // secrets
    for x in [a, s] {
        let found = secrets::find(x);
        let mut last_end = 0;
        for f in &found {
            assert!(f.start < f.end && f.start >= last_end, "bad or overlapping range {f:?} in {found:?}");
            let _ = &x[f.start..f.end];
            last_end = f.end;
        }
        assert_eq!(secrets::contains(x), !found.is_empty(), "contains and find disagree on {x:?}");
    }
});
