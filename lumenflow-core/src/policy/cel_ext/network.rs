//! CEL's network extension (`ip`, `cidr` and their methods), as cel-go defines it, for
//! the `cel` fallback: `ip('10.0.0.1')`, `isIP(s)`, `ip.isCanonical(s)`, `cidr('10.0.0.0/8')`,
//! `.family()`, `.isLoopback()`, `.containsIP(ip|string)`, `.containsCIDR(cidr|string)`, ...
//!
//! IP addresses and CIDR ranges are opaque values (`net.IP`, `net.CIDR`): equal only to
//! their own kind, never to a string. Zones (`fe80::1%en0`) and IPv4-mapped IPv6 written
//! with a dotted quad (`::ffff:1.2.3.4`) are rejected, as in cel-go; an IPv4-mapped
//! address written in hex is the IPv4 address.

use cel::objects::Opaque;
use cel::{ExecutionError, FunctionContext, Value};
use std::net::IpAddr;
use std::sync::Arc;

/// An IP address value (`net.IP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Ip(IpAddr);

impl Opaque for Ip {
    fn runtime_type_name(&self) -> &str {
        "net.IP"
    }
}

/// A CIDR range value (`net.CIDR`): an address and a prefix length, unmasked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Opaque for Cidr {
    fn runtime_type_name(&self) -> &str {
        "net.CIDR"
    }
}

type Res = Result<Value, ExecutionError>;

fn parse_ip(s: &str, what: &str) -> Result<IpAddr, String> {
    if s.contains('%') {
        return Err(format!("{what} with zone value is not allowed"));
    }
    if s.contains(':') && s.contains('.') {
        return Err("IPv4-mapped IPv6 address is not allowed".into());
    }
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("IP Address '{s}' parse error during conversion from string"))?;
    Ok(ip.to_canonical())
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    let bad = || format!("network address parse error during conversion from string: {s}");
    let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
    let addr = parse_ip(addr, "CIDR")?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix: u8 = match prefix.parse() {
        Ok(p) if p <= max && !prefix.starts_with('+') => p,
        _ => return Err(bad()),
    };
    Ok(Cidr { addr, prefix })
}

fn bits(a: IpAddr) -> (u128, u32) {
    match a {
        IpAddr::V4(v) => (u128::from(u32::from(v)), 32),
        IpAddr::V6(v) => (u128::from(v), 128),
    }
}

fn mask(a: IpAddr, prefix: u8) -> IpAddr {
    let (b, width) = bits(a);
    let keep = u32::from(prefix);
    let m = if keep == 0 {
        0
    } else {
        (!0u128 << (width - keep))
            & (if width == 32 {
                u128::from(u32::MAX)
            } else {
                !0
            })
    };
    match a {
        IpAddr::V4(_) => IpAddr::V4(((b & m) as u32).into()),
        IpAddr::V6(_) => IpAddr::V6((b & m).into()),
    }
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == mask(self.addr, self.prefix)
    }
}

fn opaque(f: &FunctionContext, i: usize) -> Result<Value, ExecutionError> {
    Value::try_from(crate::policy::functions::arg(f, i)?)
}

fn overload(f: &FunctionContext, v: &Value) -> ExecutionError {
    f.error(format!(
        "found no matching overload for '{}' applied to '({})'",
        f.name,
        match v {
            Value::Opaque(o) => o.runtime_type_name().to_string(),
            other => other.type_of().to_string(),
        }
    ))
}

fn ip_of(f: &FunctionContext, i: usize) -> Result<IpAddr, ExecutionError> {
    match opaque(f, i)? {
        Value::Opaque(o) => match o.downcast_ref::<Ip>() {
            Some(ip) => Ok(ip.0),
            None => Err(overload(f, &Value::Opaque(o))),
        },
        other => Err(overload(f, &other)),
    }
}

fn cidr_of(f: &FunctionContext, i: usize) -> Result<Cidr, ExecutionError> {
    match opaque(f, i)? {
        Value::Opaque(o) => match o.downcast_ref::<Cidr>() {
            Some(c) => Ok(*c),
            None => Err(overload(f, &Value::Opaque(o))),
        },
        other => Err(overload(f, &other)),
    }
}

fn arity(f: &FunctionContext, member: bool, n: usize) -> Result<(), ExecutionError> {
    if f.this.is_some() == member && f.args.len() == n {
        Ok(())
    } else {
        Err(f.error(format!("found no matching overload for '{}'", f.name)))
    }
}

fn ip_value(a: IpAddr) -> Value {
    Value::Opaque(Arc::new(Ip(a)))
}

/// `ip(string)`, or `cidr.ip()`.
fn ip(f: &FunctionContext) -> Res {
    if f.this.is_some() {
        arity(f, true, 0)?;
        return Ok(ip_value(cidr_of(f, 0)?.addr));
    }
    arity(f, false, 1)?;
    match opaque(f, 0)? {
        Value::String(s) => parse_ip(&s, "IP Address")
            .map(ip_value)
            .map_err(|e| f.error(e)),
        other => Err(overload(f, &other)),
    }
}

fn ip_or_string(f: &FunctionContext, i: usize) -> Result<IpAddr, ExecutionError> {
    match opaque(f, i)? {
        Value::String(s) => parse_ip(&s, "IP Address").map_err(|e| f.error(e)),
        _ => ip_of(f, i),
    }
}

fn cidr_or_string(f: &FunctionContext, i: usize) -> Result<Cidr, ExecutionError> {
    match opaque(f, i)? {
        Value::String(s) => parse_cidr(&s).map_err(|e| f.error(e)),
        _ => cidr_of(f, i),
    }
}

fn ip_pred(f: &FunctionContext, p: fn(IpAddr) -> bool) -> Res {
    arity(f, true, 0)?;
    Ok(Value::Bool(p(ip_of(f, 0)?)))
}

fn global_unicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || v.is_link_local()
                || v.is_broadcast())
        }
        IpAddr::V6(v) => {
            !(v.is_unspecified()
                || v.is_loopback()
                || v.is_multicast()
                || (v.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

fn link_local_multicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v) => (v.segments()[0] & 0xff0f) == 0xff02,
    }
}

fn link_local_unicast(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_link_local(),
        IpAddr::V6(v) => (v.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The names the extension adds (global and member), for the load-time check.
pub(crate) const GLOBAL: &[(&str, usize)] =
    &[("ip", 1), ("cidr", 1), ("isIP", 1), ("ip.isCanonical", 1)];

/// Member functions: (name, arguments after the receiver).
pub(crate) const MEMBER: &[(&str, usize)] = &[
    ("ip", 0),
    ("family", 0),
    ("isUnspecified", 0),
    ("isLoopback", 0),
    ("isGlobalUnicast", 0),
    ("isLinkLocalMulticast", 0),
    ("isLinkLocalUnicast", 0),
    ("containsIP", 1),
    ("containsCIDR", 1),
    ("masked", 0),
    ("prefixLength", 0),
];

/// `string(ip)` and `string(cidr)`: the canonical text (`2001:db8::68`, `10.0.0.0/8`,
/// the address as written, unmasked, as in cel-go).
fn string_of<'b, 'v>(
    args: Vec<cel::common::value::CowVal<'b, 'v>>,
) -> Result<cel::common::value::CowVal<'b, 'v>, ExecutionError> {
    let v = args
        .first()
        .ok_or_else(|| ExecutionError::invalid_argument_count(1, 0))?;
    let text = match Value::try_from(v.as_ref())? {
        Value::Opaque(o) => match (o.downcast_ref::<Ip>(), o.downcast_ref::<Cidr>()) {
            (Some(ip), _) => ip.0.to_string(),
            (_, Some(c)) => format!("{}/{}", c.addr, c.prefix),
            _ => {
                return Err(ExecutionError::function_error(
                    "string",
                    "not an IP or CIDR",
                ))
            }
        },
        _ => {
            return Err(ExecutionError::function_error(
                "string",
                "not an IP or CIDR",
            ))
        }
    };
    Ok(cel::common::value::CowVal::owned(
        cel::common::types::CelString::from(text),
    ))
}

/// Declares the types `net.IP` and `net.CIDR` (so `type(ip(s)) == net.IP`) and
/// `string()` of their values.
pub(crate) fn register_env(env: &mut cel::Env) -> Result<(), cel::DeclarationError> {
    use cel::common::types::Type;
    for name in ["net.IP", "net.CIDR"] {
        env.add_type(Type::new_opaque_type(name))?;
        env.add_overload(
            "string",
            &format!("{name}_to_string"),
            vec![Type::new_opaque_type(name)],
            string_of,
        )?;
    }
    Ok(())
}

/// Adds the network functions to a root context.
pub(crate) fn register(ctx: &mut cel::Context<'static, 'static>) {
    let add =
        |ctx: &mut cel::Context<'static, 'static>, name: &str, f: fn(&FunctionContext) -> Res| {
            ctx.add_function(name, move |ftx: &FunctionContext| f(ftx))
                .expect("network function names do not clash with CEL's");
        };
    add(ctx, "ip", ip);
    add(ctx, "isIP", |f| {
        arity(f, false, 1)?;
        match opaque(f, 0)? {
            Value::String(s) => Ok(Value::Bool(parse_ip(&s, "IP Address").is_ok())),
            other => Err(overload(f, &other)),
        }
    });
    add(ctx, "ip.isCanonical", |f| {
        arity(f, false, 1)?;
        match opaque(f, 0)? {
            Value::String(s) => {
                let a = parse_ip(&s, "IP Address").map_err(|e| f.error(e))?;
                Ok(Value::Bool(a.to_string() == *s))
            }
            other => Err(overload(f, &other)),
        }
    });
    add(ctx, "cidr", |f| {
        arity(f, false, 1)?;
        match opaque(f, 0)? {
            Value::String(s) => parse_cidr(&s)
                .map(|c| Value::Opaque(Arc::new(c)))
                .map_err(|e| f.error(e)),
            other => Err(overload(f, &other)),
        }
    });
    add(ctx, "family", |f| {
        arity(f, true, 0)?;
        Ok(Value::Int(if ip_of(f, 0)?.is_ipv4() { 4 } else { 6 }))
    });
    add(ctx, "isUnspecified", |f| ip_pred(f, |a| a.is_unspecified()));
    add(ctx, "isLoopback", |f| ip_pred(f, |a| a.is_loopback()));
    add(ctx, "isGlobalUnicast", |f| ip_pred(f, global_unicast));
    add(ctx, "isLinkLocalMulticast", |f| {
        ip_pred(f, link_local_multicast)
    });
    add(ctx, "isLinkLocalUnicast", |f| {
        ip_pred(f, link_local_unicast)
    });
    add(ctx, "containsIP", |f| {
        arity(f, true, 1)?;
        let c = cidr_of(f, 0)?;
        Ok(Value::Bool(c.contains(ip_or_string(f, 1)?)))
    });
    add(ctx, "containsCIDR", |f| {
        arity(f, true, 1)?;
        let c = cidr_of(f, 0)?;
        let other = cidr_or_string(f, 1)?;
        Ok(Value::Bool(
            other.prefix >= c.prefix && c.contains(other.addr),
        ))
    });
    add(ctx, "masked", |f| {
        arity(f, true, 0)?;
        let c = cidr_of(f, 0)?;
        Ok(Value::Opaque(Arc::new(Cidr {
            addr: mask(c.addr, c.prefix),
            prefix: c.prefix,
        })))
    });
    add(ctx, "prefixLength", |f| {
        arity(f, true, 0)?;
        Ok(Value::Int(i64::from(cidr_of(f, 0)?.prefix)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_parses() {
        let c = parse_cidr("192.168.0.1/24").unwrap();
        assert_eq!(mask(c.addr, c.prefix).to_string(), "192.168.0.0");
        assert!(c.contains("192.168.0.200".parse().unwrap()));
        assert!(!c.contains("192.168.1.1".parse().unwrap()));
        assert_eq!(mask("10.1.2.3".parse().unwrap(), 0).to_string(), "0.0.0.0");
        assert!(parse_cidr("10.0.0.0/33").is_err());
        assert!(parse_cidr("10.0.0.0/").is_err());
        assert!(parse_ip("::ffff:1.2.3.4", "IP Address").is_err());
        assert_eq!(
            parse_ip("::ffff:c0a8:1", "IP Address").unwrap().to_string(),
            "192.168.0.1"
        );
        let v6 = parse_cidr("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::1".parse().unwrap()));
        assert!(!v6.contains("2001:db9::1".parse().unwrap()));
    }
}
