//! Suricata eve.json: `flow`, `netflow`, `dns`, `http`, `tls`, `fileinfo` and `alert` events
//! (and any other event that carries the same sub-objects). See MAPPING.md for the table.

use std::fmt::Write as _;

use serde::Deserialize;

use crate::probe::{Build, FactFilter, Probe, Probed};
use crate::record::{JsonStr, Record, parse_time};
use crate::scan::Scan;
use crate::{LineParser, ParseError};

type S<'a> = Option<JsonStr<'a>>;

#[derive(Deserialize, Default)]
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

#[derive(Deserialize, Default)]
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

#[derive(Deserialize, Default)]
struct DnsQuery<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
}

#[derive(Deserialize, Default)]
struct DnsAnswer<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
    #[serde(borrow)]
    rrtype: S<'a>,
    #[serde(borrow)]
    rdata: S<'a>,
}

#[derive(Deserialize, Default)]
struct Dns<'a> {
    #[serde(borrow)]
    rrname: S<'a>,
    #[serde(borrow, default)]
    queries: Vec<DnsQuery<'a>>,
    #[serde(borrow, default)]
    answers: Vec<DnsAnswer<'a>>,
}

#[derive(Deserialize, Default)]
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

#[derive(Deserialize, Default)]
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

#[derive(Deserialize, Default)]
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

/// A string field read by [`Scan`] (a repeated field gives up, as serde rejects it).
#[inline(always)]
fn s_field<'a>(sc: &mut Scan<'a>, slot: &mut S<'a>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(JsonStr(std::borrow::Cow::Borrowed(sc.str()?)));
    Some(())
}

/// An integer field read by [`Scan`].
#[inline(always)]
fn i_field(sc: &mut Scan<'_>, slot: &mut Option<i64>) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(sc.int()?);
    Some(())
}

/// A sub-object field read by [`Scan`] into its slot in place (a macro, so that the reader is
/// inlined).
macro_rules! o_field {
    ($sc:expr, $slot:expr, $read:ident) => {
        if $slot.is_some() || !$sc.at_object() {
            None
        } else {
            $read($sc, $slot.insert(Default::default()))
        }
    };
}

/// The members of an object, as `first byte "key" => reader of the value`, then `_ => reader
/// of any other member`: a key written plainly (`"key":`, as Suricata writes them) is
/// recognized in place by its first byte and one comparison; any other spelling, and any other
/// key, goes through the scanned key ([`Scan::object_keyed`]). Some members that are not read
/// are listed too (their reader is `skip`): that only spares scanning their keys.
macro_rules! members {
    ($sc:ident; $( $c:literal $name:literal => $read:expr, )* _ => $other:expr $(,)?) => {{
        // The first byte given is the key's (checked when compiling).
        $( const _: () = assert!($c == $name.as_bytes()[0]); )*
        // Inlined where it is used (twice per member) in optimized builds only: unoptimized,
        // the copies would make a stack frame of megabytes.
        #[cfg_attr(not(debug_assertions), inline(always))]
        |$sc: &mut Scan<'_>, key: Option<&[u8]>| -> Option<Option<()>> {
            match key {
                None => match $sc.key_start()? {
                    $( $c if $sc.eat_member(concat!("\"", $name, "\":").as_bytes()) => Some($read), )*
                    _ => None,
                },
                Some(k) => Some(match k {
                    $( k if k == $name.as_bytes() => $read, )*
                    _ => $other,
                }),
            }
        }
    }};
}

#[inline(always)]
fn scan_flow<'a>(sc: &mut Scan<'a>, f: &mut Flow<'a>) -> Option<()> {
    sc.object_keyed(members!(sc;
        b'p' "pkts_toserver" => i_field(sc, &mut f.pkts_toserver),
        b'p' "pkts_toclient" => i_field(sc, &mut f.pkts_toclient),
        b'b' "bytes_toserver" => i_field(sc, &mut f.bytes_toserver),
        b'b' "bytes_toclient" => i_field(sc, &mut f.bytes_toclient),
        b'p' "pkts" => i_field(sc, &mut f.pkts),
        b'b' "bytes" => i_field(sc, &mut f.bytes),
        b's' "start" => s_field(sc, &mut f.start),
        b'e' "end" => s_field(sc, &mut f.end),
        b'a' "age" => sc.skip(),
        b's' "state" => sc.skip(),
        b'r' "reason" => sc.skip(),
        b'a' "alerted" => sc.skip(),
        _ => sc.skip(),
    ))
}

#[inline(always)]
fn scan_dns<'a>(sc: &mut Scan<'a>, d: &mut Dns<'a>) -> Option<()> {
    let (mut queries, mut answers) = (false, false);
    sc.object_keyed(members!(sc;
        b'r' "rrname" => s_field(sc, &mut d.rrname),
        b'q' "queries" => if queries {
            None
        } else {
            queries = true;
            sc.array(|sc| {
                let mut q = DnsQuery::default();
                sc.object_keyed(members!(sc;
                    b'r' "rrname" => s_field(sc, &mut q.rrname),
                    _ => sc.skip(),
                ))?;
                d.queries.push(q);
                Some(())
            })
        },
        b'a' "answers" => if answers {
            None
        } else {
            answers = true;
            sc.array(|sc| {
                let mut a = DnsAnswer::default();
                sc.object_keyed(members!(sc;
                    b'r' "rrname" => s_field(sc, &mut a.rrname),
                    b'r' "rrtype" => s_field(sc, &mut a.rrtype),
                    b'r' "rdata" => s_field(sc, &mut a.rdata),
                    b't' "ttl" => sc.skip(),
                    _ => sc.skip(),
                ))?;
                d.answers.push(a);
                Some(())
            })
        },
        b'v' "version" => sc.skip(),
        b't' "type" => sc.skip(),
        b'i' "id" => sc.skip(),
        b'f' "flags" => sc.skip(),
        b'q' "qr" => sc.skip(),
        b'r' "rd" => sc.skip(),
        b'r' "ra" => sc.skip(),
        b'r' "rrtype" => sc.skip(),
        b'r' "rcode" => sc.skip(),
        b'g' "grouped" => sc.skip(),
        b't' "tx_id" => sc.skip(),
        _ => sc.skip(),
    ))
}

#[inline(always)]
fn scan_http<'a>(sc: &mut Scan<'a>, h: &mut Http<'a>) -> Option<()> {
    sc.object_keyed(members!(sc;
        b'h' "hostname" => s_field(sc, &mut h.hostname),
        b'h' "http_port" => i_field(sc, &mut h.http_port),
        b'u' "url" => s_field(sc, &mut h.url),
        b'h' "http_user_agent" => s_field(sc, &mut h.http_user_agent),
        b'h' "http_method" => s_field(sc, &mut h.http_method),
        b'p' "protocol" => s_field(sc, &mut h.protocol),
        b'h' "http_refer" => s_field(sc, &mut h.http_refer),
        b'h' "http_content_type" => s_field(sc, &mut h.http_content_type),
        b's' "status" => sc.skip(),
        b'l' "length" => sc.skip(),
        _ => sc.skip(),
    ))
}

#[inline(always)]
fn scan_tls<'a>(sc: &mut Scan<'a>, t: &mut Tls<'a>) -> Option<()> {
    sc.object_keyed(members!(sc;
        b's' "sni" => s_field(sc, &mut t.sni),
        b's' "subject" => s_field(sc, &mut t.subject),
        b'i' "issuerdn" => s_field(sc, &mut t.issuerdn),
        b's' "serial" => s_field(sc, &mut t.serial),
        b'f' "fingerprint" => s_field(sc, &mut t.fingerprint),
        b'n' "notbefore" => s_field(sc, &mut t.notbefore),
        b'n' "notafter" => s_field(sc, &mut t.notafter),
        b'v' "version" => sc.skip(),
        b'j' "ja3" => sc.skip(),
        b'j' "ja3s" => sc.skip(),
        _ => sc.skip(),
    ))
}

#[inline(always)]
fn scan_fileinfo<'a>(sc: &mut Scan<'a>, f: &mut FileInfo<'a>) -> Option<()> {
    sc.object_keyed(members!(sc;
        b'f' "filename" => s_field(sc, &mut f.filename),
        b's' "size" => i_field(sc, &mut f.size),
        b'm' "md5" => s_field(sc, &mut f.md5),
        b's' "sha1" => s_field(sc, &mut f.sha1),
        b's' "sha256" => s_field(sc, &mut f.sha256),
        b'm' "magic" => sc.skip(),
        b'g' "gaps" => sc.skip(),
        b's' "state" => sc.skip(),
        b's' "stored" => sc.skip(),
        b't' "tx_id" => sc.skip(),
        _ => sc.skip(),
    ))
}

/// The fast path: an eve line read by [`Scan`] into `e` (default on entry); `None` leaves the
/// line to `serde_json`.
#[inline(never)]
fn scan_eve<'a>(line: &'a str, e: &mut Eve<'a>) -> Option<()> {
    let mut sc = Scan::new(line);
    sc.object_keyed(members!(sc;
        b't' "timestamp" => s_field(sc, &mut e.timestamp),
        b'e' "event_type" => s_field(sc, &mut e.event_type),
        b's' "src_ip" => s_field(sc, &mut e.src_ip),
        b's' "src_port" => i_field(sc, &mut e.src_port),
        b'd' "dest_ip" => s_field(sc, &mut e.dest_ip),
        b'd' "dest_port" => i_field(sc, &mut e.dest_port),
        b'p' "proto" => s_field(sc, &mut e.proto),
        b'a' "app_proto" => s_field(sc, &mut e.app_proto),
        b'f' "flow" => o_field!(sc, e.flow, scan_flow),
        b'n' "netflow" => o_field!(sc, e.netflow, scan_flow),
        b'd' "dns" => o_field!(sc, e.dns, scan_dns),
        b'h' "http" => o_field!(sc, e.http, scan_http),
        b't' "tls" => o_field!(sc, e.tls, scan_tls),
        b'f' "fileinfo" => o_field!(sc, e.fileinfo, scan_fileinfo),
        b'f' "flow_id" => sc.skip(),
        b'i' "in_iface" => sc.skip(),
        b'c' "community_id" => sc.skip(),
        b't' "tcp" => sc.skip(),
        b't' "tx_id" => sc.skip(),
        b'a' "alert" => sc.skip(),
        b'p' "pcap_cnt" => sc.skip(),
        b'v' "vlan" => sc.skip(),
        _ => sc.skip(),
    ))?;
    sc.at_end().then_some(())
}

/// Parser of Suricata eve.json lines.
#[derive(Debug, Default, Clone)]
pub struct EveParser {
    /// Text of the values a probe builds (kept between lines).
    scratch: String,
}

fn nonempty<'a>(s: &'a S<'_>) -> Option<&'a str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// A certificate fingerprint or serial as hex: colons removed, lower case.
pub(crate) fn hex_digest(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_hex_digest(&mut out, s);
    out
}

/// Append [`hex_digest`] of `s` to `out`.
fn push_hex_digest(out: &mut String, s: &str) {
    if s.is_ascii() {
        // The common case (hex digits and colons), byte by byte.
        let start = out.len();
        for part in s.split(':') {
            out.push_str(part);
        }
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(s.chars().filter(|c| *c != ':').flat_map(char::to_lowercase));
    }
}

/// Set a time property from log text (`2023-01-01T00:00:00`, no zone: Suricata writes UTC),
/// as RFC 3339 UTC; text that is not a time is kept as it is. Returns the time.
fn set_log_time<'v, B: Build<'v>>(
    rec: &mut B,
    sco: B::Sco,
    path: &'static str,
    text: &'v str,
) -> Option<i64> {
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

/// An eve line into the typed event `e` (default on entry): the scanner, or `serde_json` when
/// the scanner gives up. (The event is filled in place: it is large, so it is not moved.)
#[inline(always)]
fn read_eve<'a>(line: &'a str, e: &mut Eve<'a>) -> Result<(), ParseError> {
    if scan_eve(line, e).is_none() {
        *e = serde_json::from_str(line).map_err(|e| ParseError::Json(e.to_string()))?;
    }
    Ok(())
}

impl LineParser for EveParser {
    fn parse_line(&mut self, line: &str, rec: &mut Record) -> Result<(), ParseError> {
        let mut e = Eve::default();
        read_eve(line, &mut e)?;
        build(&e, rec)
    }

    fn probe_line(
        &mut self,
        line: &str,
        filter: &mut dyn FactFilter,
    ) -> Result<Option<Probed>, ParseError> {
        let mut e = Eve::default();
        read_eve(line, &mut e)?;
        let mut probe = Probe::new(filter, &mut self.scratch);
        build(&e, &mut probe)?;
        Ok(probe.finish())
    }

    fn probes(&self) -> bool {
        true
    }
}

/// The mapping of MAPPING.md: one event into a record (or a probe of its facts).
fn build<'v, B: Build<'v>>(e: &'v Eve<'_>, rec: &mut B) -> Result<(), ParseError> {
    let Some(ts) = nonempty(&e.timestamp) else {
        return Err(ParseError::Field("timestamp", "missing".into()));
    };
    let mut time = Some(
        parse_time(ts)
            .ok_or_else(|| ParseError::Field("timestamp", format!("not a timestamp: {ts:?}")))?,
    );
    let mut time_end = None;
    let event_type = e.event_type.as_deref().unwrap_or("");

    // The connection.
    let mut nt: Option<B::Sco> = None;
    if let (Some(src), Some(dst)) = (nonempty(&e.src_ip), nonempty(&e.dest_ip)) {
        let n = rec.network_traffic(src, dst, e.src_port, e.dest_port, nonempty(&e.proto));
        if let Some(a) = nonempty(&e.app_proto).filter(|a| !matches!(*a, "failed" | "unknown")) {
            rec.set_str_lower(n, "protocols[*]", a);
        }
        nt = Some(n);
    }
    if let (Some(n), Some(f)) = (nt, e.flow.as_ref().or(e.netflow.as_ref())) {
        let is_flow = event_type == "flow" || event_type == "netflow";
        if let Some(t) = nonempty(&f.start) {
            let start = set_log_time(rec, n, "start", t);
            if is_flow {
                time = start.or(time);
            }
        }
        if let Some(t) = nonempty(&f.end) {
            let end = set_log_time(rec, n, "end", t);
            if is_flow {
                time_end = end;
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
        if let Some(q) = nonempty(&dns.rrname) {
            rec.value_sco("domain-name", q);
        }
        for q in &dns.queries {
            if let Some(q) = nonempty(&q.rrname) {
                rec.value_sco("domain-name", q);
            }
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
            if u.starts_with("http://") || u.starts_with("https://") {
                rec.value_sco("url", u);
            } else if let Some(host) = host {
                let port = h
                    .http_port
                    .or(e.dest_port)
                    .filter(|p| *p != 80 && (event_type != "fileinfo" || h.http_port.is_some()));
                rec.value_sco_built("url", |s| {
                    s.push_str("http://");
                    if host.contains(':') && !host.starts_with('[') {
                        s.push('[');
                        s.push_str(host);
                        s.push(']');
                    } else {
                        s.push_str(host);
                    }
                    if let Some(p) = port {
                        // Writing into a String cannot fail.
                        let _ = write!(s, ":{p}");
                    }
                    s.push_str(u);
                });
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
                rec.set_str_built(c, "hashes.SHA-1", |s| push_hex_digest(s, v));
            }
            if let Some(v) = nonempty(&t.serial) {
                rec.set_str_built(c, "serial_number", |s| push_hex_digest(s, v));
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
    rec.set_times(time, time_end);
    Ok(())
}

pub(crate) fn is_ip(s: &str) -> bool {
    s.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::hex_digest;

    #[test]
    fn hex_digest_drops_colons_and_lowercases() {
        assert_eq!(hex_digest("AB:cd:01:EF"), "abcd01ef");
        assert_eq!(hex_digest("ABCDEF"), "abcdef");
        assert_eq!(hex_digest(""), "");
        // Non-ASCII text takes the char-wise path, with the same result rules.
        assert_eq!(hex_digest("ÄB:C"), "äbc");
    }
}
