//! Suricata eve.json: `flow`, `netflow`, `dns`, `http`, `tls`, `fileinfo` and `alert` events
//! (and any other event that carries the same sub-objects). See MAPPING.md for the table.

use serde::Deserialize;

use crate::record::{JsonStr, Record, ScoIdx, parse_time};
use crate::{LineParser, ParseError};

type S<'a> = Option<JsonStr<'a>>;

#[derive(Deserialize)]
struct Eve<'a> {
    #[serde(borrow)]
    timestamp: S<'a>,
    #[serde(borrow)]
    event_type: S<'a>,
    #[serde(borrow)]
    src_ip: S<'a>,
    src_port: Option<i64>,
    #[serde(borrow)]
    dest_ip: S<'a>,
    dest_port: Option<i64>,
    #[serde(borrow)]
    proto: S<'a>,
    #[serde(borrow)]
    app_proto: S<'a>,
    #[serde(borrow)]
    flow: Option<Flow<'a>>,
    #[serde(borrow)]
    netflow: Option<Flow<'a>>,
    #[serde(borrow)]
    dns: Option<Dns<'a>>,
    #[serde(borrow)]
    http: Option<Http<'a>>,
    #[serde(borrow)]
    tls: Option<Tls<'a>>,
    #[serde(borrow)]
    fileinfo: Option<FileInfo<'a>>,
}

#[derive(Deserialize)]
struct Flow<'a> {
    pkts_toserver: Option<i64>,
    pkts_toclient: Option<i64>,
    bytes_toserver: Option<i64>,
    bytes_toclient: Option<i64>,
    // netflow uses pkts/bytes
    pkts: Option<i64>,
    bytes: Option<i64>,
    #[serde(borrow)]
    start: S<'a>,
    #[serde(borrow)]
    end: S<'a>,
}

#[derive(Deserialize)]
struct DnsQuery<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
}

#[derive(Deserialize)]
struct DnsAnswer<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
    #[serde(borrow)]
    rrtype: S<'a>,
    #[serde(borrow)]
    rdata: S<'a>,
}

#[derive(Deserialize)]
struct Dns<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
    #[serde(borrow, default)]
    queries: Vec<DnsQuery<'a>>,
    #[serde(borrow, default)]
    answers: Vec<DnsAnswer<'a>>,
}

#[derive(Deserialize)]
struct Http<'a> {
    #[serde(borrow)]
    hostname: S<'a>,
    http_port: Option<i64>,
    #[serde(borrow)]
    url: S<'a>,
    #[serde(borrow)]
    http_user_agent: S<'a>,
    #[serde(borrow)]
    http_method: S<'a>,
    #[serde(borrow)]
    protocol: S<'a>,
    #[serde(borrow)]
    http_refer: S<'a>,
    #[serde(borrow)]
    http_content_type: S<'a>,
}

#[derive(Deserialize)]
struct Tls<'a> {
    #[serde(borrow)]
    sni: S<'a>,
    #[serde(borrow)]
    subject: S<'a>,
    #[serde(borrow)]
    issuerdn: S<'a>,
    #[serde(borrow)]
    serial: S<'a>,
    #[serde(borrow)]
    fingerprint: S<'a>,
    #[serde(borrow)]
    notbefore: S<'a>,
    #[serde(borrow)]
    notafter: S<'a>,
}

#[derive(Deserialize)]
struct FileInfo<'a> {
    #[serde(borrow)]
    filename: S<'a>,
    size: Option<i64>,
    #[serde(borrow)]
    md5: S<'a>,
    #[serde(borrow)]
    sha1: S<'a>,
    #[serde(borrow)]
    sha256: S<'a>,
}

/// Parser of Suricata eve.json lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct EveParser;

fn nonempty<'a>(s: &'a S<'_>) -> Option<&'a str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// A certificate fingerprint or serial as hex: colons removed, lower case.
pub(crate) fn hex_digest(s: &str) -> String {
    s.chars()
        .filter(|c| *c != ':')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Set a time property from log text (`2023-01-01T00:00:00`, no zone: Suricata writes UTC),
/// as RFC 3339 UTC; text that is not a time is kept as it is. Returns the time.
fn set_log_time(rec: &mut Record, sco: ScoIdx, path: &'static str, text: &str) -> Option<i64> {
    match parse_time(text) {
        Some(t) => {
            rec.set_time(sco, path, t);
            Some(t)
        }
        None => {
            rec.set_str(sco, path, text);
            None
        }
    }
}

impl LineParser for EveParser {
    fn parse_line(&mut self, line: &str, rec: &mut Record) -> Result<(), ParseError> {
        let e: Eve<'_> = serde_json::from_str(line).map_err(|e| ParseError::Json(e.to_string()))?;
        let Some(ts) = nonempty(&e.timestamp) else {
            return Err(ParseError::Field("timestamp", "missing".into()));
        };
        rec.time =
            Some(parse_time(ts).ok_or_else(|| {
                ParseError::Field("timestamp", format!("not a timestamp: {ts:?}"))
            })?);
        let event_type = e.event_type.as_deref().unwrap_or("");

        // The connection.
        let mut nt: Option<ScoIdx> = None;
        if let (Some(src), Some(dst)) = (nonempty(&e.src_ip), nonempty(&e.dest_ip)) {
            let s = rec.ip_sco(src);
            let d = rec.ip_sco(dst);
            let n = rec.add_sco("network-traffic");
            rec.set_ref(n, "src_ref", s);
            rec.set_ref(n, "dst_ref", d);
            if let Some(p) = e.src_port {
                rec.set_int(n, "src_port", p);
            }
            if let Some(p) = e.dest_port {
                rec.set_int(n, "dst_port", p);
            }
            rec.set_str(
                n,
                "protocols[*]",
                if src.contains(':') { "ipv6" } else { "ipv4" },
            );
            if let Some(p) = nonempty(&e.proto) {
                rec.set_str_lower(n, "protocols[*]", p);
            }
            if let Some(a) = nonempty(&e.app_proto).filter(|a| !matches!(*a, "failed" | "unknown"))
            {
                rec.set_str_lower(n, "protocols[*]", a);
            }
            nt = Some(n);
        }
        if let (Some(n), Some(f)) = (nt, e.flow.as_ref().or(e.netflow.as_ref())) {
            let is_flow = event_type == "flow" || event_type == "netflow";
            if let Some(t) = nonempty(&f.start) {
                let start = set_log_time(rec, n, "start", t);
                if is_flow {
                    rec.time = start.or(rec.time);
                }
            }
            if let Some(t) = nonempty(&f.end) {
                let end = set_log_time(rec, n, "end", t);
                if is_flow {
                    rec.time_end = end;
                }
            }
            if let Some(v) = f.bytes_toserver.or(f.bytes) {
                rec.set_int(n, "src_byte_count", v);
            }
            if let Some(v) = f.bytes_toclient {
                rec.set_int(n, "dst_byte_count", v);
            }
            if let Some(v) = f.pkts_toserver.or(f.pkts) {
                rec.set_int(n, "src_packets", v);
            }
            if let Some(v) = f.pkts_toclient {
                rec.set_int(n, "dst_packets", v);
            }
        }

        if let Some(dns) = &e.dns {
            let mut names: Vec<&str> = Vec::new();
            if let Some(q) = nonempty(&dns.rrname) {
                names.push(q);
            }
            for q in &dns.queries {
                if let Some(q) = nonempty(&q.rrname) {
                    names.push(q);
                }
            }
            for q in &names {
                rec.value_sco("domain-name", q);
            }
            for a in &dns.answers {
                let (Some(owner), Some(rdata)) = (nonempty(&a.rrname), nonempty(&a.rdata)) else {
                    continue;
                };
                let target = match a.rrtype.as_deref() {
                    Some("A" | "AAAA") => rec.ip_sco(rdata),
                    Some("CNAME") => rec.value_sco("domain-name", rdata),
                    _ => continue,
                };
                let d = rec.value_sco("domain-name", owner);
                rec.set_ref(d, "resolves_to_refs[*]", target);
            }
        }

        if let Some(h) = &e.http {
            let host = nonempty(&h.hostname);
            if let Some(host) = host
                && !is_ip(host)
            {
                rec.value_sco("domain-name", host);
            }
            if let Some(u) = nonempty(&h.url) {
                let full = if u.starts_with("http://") || u.starts_with("https://") {
                    u.to_string()
                } else if let Some(host) = host {
                    let port = h.http_port.or(e.dest_port).filter(|p| *p != 80);
                    let host = if host.contains(':') && !host.starts_with('[') {
                        format!("[{host}]")
                    } else {
                        host.to_string()
                    };
                    match port {
                        Some(p) if event_type != "fileinfo" || h.http_port.is_some() => {
                            format!("http://{host}:{p}{u}")
                        }
                        _ => format!("http://{host}{u}"),
                    }
                } else {
                    String::new()
                };
                if !full.is_empty() {
                    rec.value_sco("url", &full);
                }
            }
            if let Some(n) = nt {
                if let Some(m) = nonempty(&h.http_method) {
                    rec.set_str_lower(n, "extensions.http-request-ext.request_method", m);
                }
                if let Some(u) = nonempty(&h.url) {
                    rec.set_str(n, "extensions.http-request-ext.request_value", u);
                }
                if let Some(p) = nonempty(&h.protocol) {
                    rec.set_str_lower(n, "extensions.http-request-ext.request_version", p);
                }
                if let Some(v) = host {
                    rec.set_str(n, "extensions.http-request-ext.request_header.Host", v);
                }
                if let Some(v) = nonempty(&h.http_user_agent) {
                    rec.set_str(
                        n,
                        "extensions.http-request-ext.request_header.User-Agent",
                        v,
                    );
                }
                if let Some(v) = nonempty(&h.http_refer) {
                    rec.set_str(n, "extensions.http-request-ext.request_header.Referer", v);
                }
            }
        }

        if let Some(t) = &e.tls {
            if let Some(sni) = nonempty(&t.sni)
                && !is_ip(sni)
            {
                rec.value_sco("domain-name", sni);
            }
            if t.subject.is_some() || t.fingerprint.is_some() || t.serial.is_some() {
                let c = rec.add_sco("x509-certificate");
                if let Some(v) = nonempty(&t.fingerprint) {
                    rec.set_str(c, "hashes.SHA-1", &hex_digest(v));
                }
                if let Some(v) = nonempty(&t.serial) {
                    rec.set_str(c, "serial_number", &hex_digest(v));
                }
                if let Some(v) = nonempty(&t.subject) {
                    rec.set_str(c, "subject", v);
                }
                if let Some(v) = nonempty(&t.issuerdn) {
                    rec.set_str(c, "issuer", v);
                }
                if let Some(v) = nonempty(&t.notbefore) {
                    set_log_time(rec, c, "validity_not_before", v);
                }
                if let Some(v) = nonempty(&t.notafter) {
                    set_log_time(rec, c, "validity_not_after", v);
                }
            }
        }

        if let Some(f) = &e.fileinfo {
            let fi = rec.add_sco("file");
            if let Some(v) = nonempty(&f.filename) {
                rec.set_str(fi, "name", v);
            }
            if let Some(v) = f.size {
                rec.set_int(fi, "size", v);
            }
            if let Some(v) = nonempty(&f.md5) {
                rec.set_str(fi, "hashes.MD5", v);
            }
            if let Some(v) = nonempty(&f.sha1) {
                rec.set_str(fi, "hashes.SHA-1", v);
            }
            if let Some(v) = nonempty(&f.sha256) {
                rec.set_str(fi, "hashes.SHA-256", v);
            }
            if let Some(ct) = e.http.as_ref().and_then(|h| nonempty(&h.http_content_type)) {
                rec.set_str(fi, "mime_type", ct);
            }
        }
        Ok(())
    }
}

pub(crate) fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}
