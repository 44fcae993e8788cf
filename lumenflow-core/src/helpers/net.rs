//! URLs and hosts: parsing, and domain matching with wildcards.

use url::Url;

/// A URL's parts as rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    /// Lower-case scheme (`https`).
    pub scheme: String,
    /// Lower-case host without a trailing dot; IPv6 addresses without brackets.
    pub host: String,
    /// The port, explicit or the scheme's default (0 if neither).
    pub port: u16,
    /// The path (`/` at least for http URLs).
    pub path: String,
    /// The query string without `?` (empty if none).
    pub query: String,
}

/// An unparseable URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid URL `{url}`: {message}")]
pub struct UrlError {
    /// The URL as given (truncated to 200 bytes).
    pub url: String,
    /// What is wrong with it.
    pub message: String,
}

/// Parses an absolute URL (WHATWG rules, as browsers do).
pub fn parse_url(s: &str) -> Result<UrlParts, UrlError> {
    let u = Url::parse(s).map_err(|e| UrlError {
        url: truncate(s, 200),
        message: e.to_string(),
    })?;
    let host = match u.host() {
        Some(url::Host::Domain(d)) => d.trim_end_matches('.').to_ascii_lowercase(),
        Some(url::Host::Ipv4(a)) => a.to_string(),
        Some(url::Host::Ipv6(a)) => a.to_string(),
        None => String::new(),
    };
    Ok(UrlParts {
        scheme: u.scheme().to_owned(),
        host,
        port: u.port_or_known_default().unwrap_or(0),
        path: u.path().to_owned(),
        query: u.query().unwrap_or_default().to_owned(),
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Whether `host` matches `pattern`, case-insensitively, ignoring a trailing dot.
/// `*.example.com` matches any subdomain (`api.example.com`, `a.b.example.com`) but not
/// `example.com` itself; `*` matches every host; anything else must be equal.
pub fn host_matches(host: &str, pattern: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let pattern = pattern.strip_suffix('.').unwrap_or(pattern);
    if pattern == "*" {
        return !host.is_empty();
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) => {
            // At least one label, a dot, then the suffix.
            host.len() > suffix.len() + 1
                && host.is_char_boundary(host.len() - suffix.len())
                && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
        }
        None => host.eq_ignore_ascii_case(pattern),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = parse_url("HTTPS://API.GitHub.com./repos?x=1").unwrap();
        assert_eq!(
            (
                u.scheme.as_str(),
                u.host.as_str(),
                u.port,
                u.path.as_str(),
                u.query.as_str()
            ),
            ("https", "api.github.com", 443, "/repos", "x=1")
        );
        assert!(parse_url("not a url").is_err());
        assert_eq!(parse_url("http://[::1]:8080/").unwrap().host, "::1");
    }

    #[test]
    fn wildcards() {
        assert!(host_matches("api.github.com", "*.github.com"));
        assert!(host_matches("a.b.GITHUB.com.", "*.github.com"));
        assert!(!host_matches("github.com", "*.github.com"));
        assert!(!host_matches("evilgithub.com", "*.github.com"));
        assert!(!host_matches("github.com.evil.io", "*.github.com"));
        assert!(host_matches("github.com", "github.com"));
        assert!(host_matches("x", "*"));
    }
}
