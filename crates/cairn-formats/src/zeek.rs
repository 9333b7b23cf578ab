//! Zeek JSON logs (`conn`, `dns`, `http`, `ssl`, `files`, `x509`), one JSON object a line, with
//! Zeek's dotted field names (`id.orig_h`). The log kind need not be known: every field present is
//! mapped. `ts` may be epoch seconds (Zeek's default) or ISO 8601 (`JSON::TS_ISO8601`).

use serde::Deserialize;

use crate::eve::{hex_digest, is_ip};
use crate::record::{JsonStr, Record, epoch_secs_to_micros, parse_time};
use crate::{LineParser, ParseError};

type S<'a> = Option<JsonStr<'a>>;

#[derive(Deserialize)]
#[serde(untagged)]
enum Ts<'a> {
    Secs(f64),
    Text(&'a str),
}

impl Ts<'_> {
    fn micros(&self) -> Option<i64> {
        match self {
            Ts::Secs(s) => epoch_secs_to_micros(*s),
            Ts::Text(t) => parse_time(t),
        }
    }
}

#[derive(Deserialize)]
struct Zeek<'a> {
    #[serde(borrow)]
    ts: Option<Ts<'a>>,
    #[serde(rename = "id.orig_h", borrow)]
    orig_h: S<'a>,
    #[serde(rename = "id.orig_p")]
    orig_p: Option<i64>,
    #[serde(rename = "id.resp_h", borrow)]
    resp_h: S<'a>,
    #[serde(rename = "id.resp_p")]
    resp_p: Option<i64>,
    #[serde(borrow)]
    proto: S<'a>,
    #[serde(borrow)]
    service: S<'a>,
    duration: Option<f64>,
    orig_bytes: Option<i64>,
    resp_bytes: Option<i64>,
    orig_pkts: Option<i64>,
    resp_pkts: Option<i64>,
    // dns
    #[serde(borrow)]
    query: S<'a>,
    #[serde(borrow, default)]
    answers: Vec<JsonStr<'a>>,
    // http
    #[serde(borrow)]
    host: S<'a>,
    #[serde(borrow)]
    uri: S<'a>,
    #[serde(borrow)]
    method: S<'a>,
    #[serde(borrow)]
    user_agent: S<'a>,
    #[serde(borrow)]
    referrer: S<'a>,
    #[serde(borrow)]
    version: S<'a>,
    // ssl
    #[serde(borrow)]
    server_name: S<'a>,
    #[serde(borrow)]
    subject: S<'a>,
    #[serde(borrow)]
    issuer: S<'a>,
    // files
    #[serde(borrow, default)]
    tx_hosts: Vec<JsonStr<'a>>,
    #[serde(borrow, default)]
    rx_hosts: Vec<JsonStr<'a>>,
    #[serde(borrow)]
    mime_type: S<'a>,
    #[serde(borrow)]
    filename: S<'a>,
    #[serde(borrow)]
    md5: S<'a>,
    #[serde(borrow)]
    sha1: S<'a>,
    #[serde(borrow)]
    sha256: S<'a>,
    total_bytes: Option<i64>,
    // x509
    #[serde(rename = "certificate.serial", borrow)]
    cert_serial: S<'a>,
    #[serde(rename = "certificate.subject", borrow)]
    cert_subject: S<'a>,
    #[serde(rename = "certificate.issuer", borrow)]
    cert_issuer: S<'a>,
    #[serde(rename = "certificate.not_valid_before", borrow)]
    cert_not_before: Option<Ts<'a>>,
    #[serde(rename = "certificate.not_valid_after", borrow)]
    cert_not_after: Option<Ts<'a>>,
    #[serde(rename = "certificate.key_alg", borrow)]
    cert_key_alg: S<'a>,
    #[serde(rename = "certificate.version")]
    cert_version: Option<i64>,
    #[serde(borrow)]
    fingerprint: S<'a>,
    #[serde(rename = "san.dns", borrow, default)]
    san_dns: Vec<JsonStr<'a>>,
}

/// Parser of Zeek JSON log lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZeekParser;

fn nonempty<'a>(s: &'a S<'_>) -> Option<&'a str> {
    s.as_deref().filter(|s| !s.is_empty() && *s != "-")
}

impl LineParser for ZeekParser {
    fn parse_line(&mut self, line: &str, rec: &mut Record) -> Result<(), ParseError> {
        let z: Zeek<'_> =
            serde_json::from_str(line).map_err(|e| ParseError::Json(e.to_string()))?;
        let Some(ts) = &z.ts else {
            return Err(ParseError::Field("ts", "missing".into()));
        };
        let t = ts
            .micros()
            .ok_or_else(|| ParseError::Field("ts", "not a timestamp".into()))?;
        rec.time = Some(t);

        // Connection (conn, dns, http, ssl: the id.* fields; files: tx_hosts/rx_hosts).
        let (src, dst) = match (nonempty(&z.orig_h), nonempty(&z.resp_h)) {
            (Some(s), Some(d)) => (Some(s), Some(d)),
            _ => (
                z.tx_hosts.first().map(|s| &**s),
                z.rx_hosts.first().map(|s| &**s),
            ),
        };
        let mut nt = None;
        if let (Some(src), Some(dst)) = (src, dst) {
            let n = rec.network_traffic(src, dst, z.orig_p, z.resp_p, nonempty(&z.proto));
            if let Some(svc) = nonempty(&z.service) {
                for s in svc.split(',') {
                    rec.set_str_lower(n, "protocols[*]", s);
                }
            }
            if let Some(d) = z.duration {
                rec.set_time(n, "start", t);
                if let Some(dm) = epoch_secs_to_micros(d) {
                    rec.set_time(n, "end", t + dm);
                    rec.time_end = Some(t + dm);
                }
            }
            if let Some(v) = z.orig_bytes {
                rec.set_int(n, "src_byte_count", v);
            }
            if let Some(v) = z.resp_bytes {
                rec.set_int(n, "dst_byte_count", v);
            }
            if let Some(v) = z.orig_pkts {
                rec.set_int(n, "src_packets", v);
            }
            if let Some(v) = z.resp_pkts {
                rec.set_int(n, "dst_packets", v);
            }
            nt = Some(n);
        }
        for h in z.tx_hosts.iter().chain(&z.rx_hosts) {
            rec.ip_sco(h);
        }

        // dns.log
        if let Some(q) = nonempty(&z.query) {
            let d = rec.value_sco("domain-name", q);
            for a in &z.answers {
                let target = if is_ip(a) {
                    rec.ip_sco(a)
                } else if a.contains('.') && !a.contains(' ') {
                    rec.value_sco("domain-name", a)
                } else {
                    continue; // TXT and other record data
                };
                rec.set_ref(d, "resolves_to_refs[*]", target);
            }
        }

        // http.log
        let host = nonempty(&z.host);
        if let Some(h) = host
            && !is_ip(h)
        {
            rec.value_sco("domain-name", h);
        }
        if let (Some(h), Some(u)) = (host, nonempty(&z.uri)) {
            let full = if u.starts_with("http://") || u.starts_with("https://") {
                u.to_string()
            } else {
                let h = if h.contains(':') && !h.starts_with('[') && is_ip(h) {
                    format!("[{h}]")
                } else {
                    h.to_string()
                };
                match z.resp_p.filter(|p| *p != 80) {
                    Some(p) => format!("http://{h}:{p}{u}"),
                    None => format!("http://{h}{u}"),
                }
            };
            rec.value_sco("url", &full);
        }
        if let Some(n) = nt
            && (z.method.is_some() || z.uri.is_some())
        {
            if let Some(m) = nonempty(&z.method) {
                rec.set_str_lower(n, "extensions.http-request-ext.request_method", m);
            }
            if let Some(u) = nonempty(&z.uri) {
                rec.set_str(n, "extensions.http-request-ext.request_value", u);
            }
            if let Some(v) = nonempty(&z.version) {
                rec.set_str(
                    n,
                    "extensions.http-request-ext.request_version",
                    &format!("http/{v}"),
                );
            }
            if let Some(v) = host {
                rec.set_str(n, "extensions.http-request-ext.request_header.Host", v);
            }
            if let Some(v) = nonempty(&z.user_agent) {
                rec.set_str(
                    n,
                    "extensions.http-request-ext.request_header.User-Agent",
                    v,
                );
            }
            if let Some(v) = nonempty(&z.referrer) {
                rec.set_str(n, "extensions.http-request-ext.request_header.Referer", v);
            }
        }

        // ssl.log
        if let Some(sni) = nonempty(&z.server_name)
            && !is_ip(sni)
        {
            rec.value_sco("domain-name", sni);
        }
        if nonempty(&z.subject).is_some() || nonempty(&z.issuer).is_some() {
            let c = rec.add_sco("x509-certificate");
            if let Some(v) = nonempty(&z.subject) {
                rec.set_str(c, "subject", v);
            }
            if let Some(v) = nonempty(&z.issuer) {
                rec.set_str(c, "issuer", v);
            }
        }

        // files.log
        if z.md5.is_some() || z.sha1.is_some() || z.sha256.is_some() || z.filename.is_some() {
            let f = rec.add_sco("file");
            if let Some(v) = nonempty(&z.filename) {
                rec.set_str(f, "name", v);
            }
            if let Some(v) = z.total_bytes {
                rec.set_int(f, "size", v);
            }
            if let Some(v) = nonempty(&z.mime_type) {
                rec.set_str(f, "mime_type", v);
            }
            if let Some(v) = nonempty(&z.md5) {
                rec.set_str(f, "hashes.MD5", v);
            }
            if let Some(v) = nonempty(&z.sha1) {
                rec.set_str(f, "hashes.SHA-1", v);
            }
            if let Some(v) = nonempty(&z.sha256) {
                rec.set_str(f, "hashes.SHA-256", v);
            }
        }

        // x509.log
        if z.cert_subject.is_some() || z.cert_serial.is_some() || z.fingerprint.is_some() {
            let c = rec.add_sco("x509-certificate");
            if let Some(v) = nonempty(&z.fingerprint) {
                rec.set_str(c, "hashes.SHA-256", &hex_digest(v));
            }
            if let Some(v) = nonempty(&z.cert_serial) {
                rec.set_str(c, "serial_number", &hex_digest(v));
            }
            if let Some(v) = nonempty(&z.cert_subject) {
                rec.set_str(c, "subject", v);
            }
            if let Some(v) = nonempty(&z.cert_issuer) {
                rec.set_str(c, "issuer", v);
            }
            if let Some(v) = z.cert_not_before.as_ref().and_then(Ts::micros) {
                rec.set_time(c, "validity_not_before", v);
            }
            if let Some(v) = z.cert_not_after.as_ref().and_then(Ts::micros) {
                rec.set_time(c, "validity_not_after", v);
            }
            if let Some(v) = nonempty(&z.cert_key_alg) {
                rec.set_str(c, "subject_public_key_algorithm", v);
            }
            if let Some(v) = z.cert_version {
                rec.set_str(c, "version", &v.to_string());
            }
            for d in &z.san_dns {
                rec.value_sco("domain-name", d);
            }
        }
        Ok(())
    }
}
