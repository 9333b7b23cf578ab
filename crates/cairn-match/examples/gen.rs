//! Benchmark data and measurements for the matcher (used by bench/match/bench.sh).
//!
//! ```text
//! gen indicators COUNT [--mix exact|full] [--seed S]      STIX indicators, JSON Lines, on stdout
//! gen eve COUNT --indicators COUNT [--hit-rate R] [--seed S]  Suricata eve.json lines on stdout
//! gen mem FILE                                            index memory per compiled indicator
//! gen throughput FILE EVE [--records N]                   match_record only, records pre-parsed
//! gen stream FILE EVE [--records N]                       read and match in one pass (the loop
//!                                                         of `cairn match`, without its output;
//!                                                         stops after at least N records)
//! ```
//!
//! Indicator values are a function of (kind, index), so the eve generator can make a fraction
//! `--hit-rate` of its records carry values of existing indicators (the rest come from value
//! spaces no indicator uses: 1.x–9.x addresses, `.org` names, other hashes).

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

use cairn_formats::{Format, LogReader, Record};
use cairn_match::{MatcherBuilder, Options};

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

const WORDS: &[&str] = &[
    "update",
    "cdn",
    "login",
    "secure",
    "mail",
    "api",
    "sync",
    "static",
    "portal",
    "files",
    "auth",
    "cloud",
    "telemetry",
    "support",
    "micros0ft",
    "paypa1",
    "office",
    "drive",
    "invoice",
    "track",
];
const TLDS: &[&str] = &["com", "net", "io", "info", "biz", "ru", "xyz", "top"];

fn hex(seed: u64, len: usize) -> String {
    let mut s = String::with_capacity(len);
    let mut x = seed;
    while s.len() < len {
        x = splitmix(x);
        s.push_str(&format!("{x:016x}"));
    }
    s.truncate(len);
    s
}

/// Indicator value spaces, a function of the index.
fn ind_ip(i: u64) -> String {
    let h = splitmix(i ^ 0x1111);
    let a = 11 + (h % 212); // 11..=222, never 10/127
    format!(
        "{a}.{}.{}.{}",
        (h >> 8) & 255,
        (h >> 16) & 255,
        (h >> 24) & 255
    )
}
fn ind_domain(i: u64) -> String {
    let h = splitmix(i ^ 0x2222);
    format!(
        "{}{}-{}.{}",
        WORDS[(h % 20) as usize],
        i,
        WORDS[((h >> 8) % 20) as usize],
        TLDS[((h >> 16) % 8) as usize]
    )
}
fn ind_url(i: u64) -> String {
    let h = splitmix(i ^ 0x3333);
    format!(
        "http://{}/{}/{}.php?id={}",
        ind_domain(i ^ 0x5a5a_5a5a),
        WORDS[(h % 20) as usize],
        hex(h, 8),
        h % 1000
    )
}
fn ind_sha256(i: u64) -> String {
    hex(i ^ 0x4444, 64)
}
fn ind_md5(i: u64) -> String {
    hex(i ^ 0x5555, 32)
}

fn indicator_line(n: u64, pattern: &str) -> String {
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n as u32,
        (n >> 32) & 0xffff,
        n & 0xfff,
        (n >> 12) & 0xfff,
        splitmix(n) & 0xffff_ffff_ffff
    );
    serde_json::json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{id}"),
        "created": "2024-01-01T00:00:00.000Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00.000Z"
    })
    .to_string()
}

fn pattern_for(i: u64, full: bool, rng: &mut Rng) -> String {
    let r = rng.below(1000);
    if full {
        if r < 50 {
            let h = splitmix(i ^ 0x6666);
            let len = [8, 16, 20, 24][(h % 4) as usize];
            let ip = ind_ip(i);
            return format!("[network-traffic:dst_ref.value ISSUBSET '{ip}/{len}']");
        }
        if r < 60 {
            return format!(
                "[domain-name:value LIKE '%{}%']",
                ind_domain(i).split('.').next().unwrap_or("x")
            );
        }
        if r < 70 {
            let d = ind_domain(i);
            return format!(
                "[url:value MATCHES '^https?://{}/']",
                d.replace('.', "\\\\.")
            );
        }
        if r < 80 {
            return format!(
                "([domain-name:value = '{}'] FOLLOWEDBY [network-traffic:dst_ref.value = '{}']) WITHIN 300 SECONDS",
                ind_domain(i),
                ind_ip(i)
            );
        }
    }
    match r % 100 {
        0..30 => format!("[ipv4-addr:value = '{}']", ind_ip(i)),
        30..60 => format!("[domain-name:value = '{}']", ind_domain(i)),
        60..75 => format!("[url:value = '{}']", ind_url(i)),
        75..90 => format!("[file:hashes.'SHA-256' = '{}']", ind_sha256(i)),
        _ => format!("[file:hashes.MD5 = '{}']", ind_md5(i)),
    }
}

fn gen_indicators(count: u64, full: bool, seed: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut rng = Rng(seed);
    for i in 0..count {
        let p = pattern_for(i, full, &mut rng);
        writeln!(out, "{}", indicator_line(i, &p))?;
    }
    out.flush()
}

fn rand_ip(rng: &mut Rng) -> String {
    let h = rng.next();
    format!(
        "{}.{}.{}.{}",
        1 + h % 9,
        (h >> 8) & 255,
        (h >> 16) & 255,
        (h >> 24) & 255
    )
}
fn internal_ip(rng: &mut Rng) -> String {
    let h = rng.next();
    format!(
        "10.{}.{}.{}",
        (h >> 8) & 255,
        (h >> 16) & 255,
        1 + (h >> 24) % 254
    )
}
fn rand_domain(rng: &mut Rng) -> String {
    let h = rng.next();
    format!(
        "{}-{}.example{}.org",
        WORDS[(h % 20) as usize],
        h % 100_000,
        (h >> 20) % 50
    )
}

fn gen_eve(count: u64, indicators: u64, hit_rate: f64, seed: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    let mut rng = Rng(seed ^ 0xe7e);
    let base: i64 = 1_710_662_400; // 2024-03-17T08:00:00Z
    let mut line = String::with_capacity(1024);
    for n in 0..count {
        let hit = rng.chance(hit_rate);
        let target = rng.below(indicators);
        let secs = base + (n / 2000) as i64;
        let micros = rng.below(1_000_000);
        let t =
            cairn_formats::format_micros(secs * 1_000_000 + micros as i64).replace('Z', "+0000");
        let src = internal_ip(&mut rng);
        let dst = if hit {
            ind_ip(target)
        } else {
            rand_ip(&mut rng)
        };
        let sport = 1024 + rng.below(60_000);
        let flow_id = rng.next() >> 14;
        let kind = rng.below(100);
        line.clear();
        let common = format!(
            r#""timestamp":"{t}","flow_id":{flow_id},"in_iface":"ens192","src_ip":"{src}","src_port":{sport},"dest_ip":"{dst}""#
        );
        match kind {
            0..40 => {
                let (tx, rx) = (rng.below(5000), rng.below(200_000));
                line.push_str(&format!(
                    r#"{{{common},"dest_port":443,"proto":"TCP","app_proto":"tls","event_type":"flow","flow":{{"pkts_toserver":{},"pkts_toclient":{},"bytes_toserver":{tx},"bytes_toclient":{rx},"start":"{t}","end":"{t}","age":0,"state":"closed","reason":"timeout","alerted":false}},"community_id":"1:{}=","tcp":{{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}}}"#,
                    tx / 100 + 1,
                    rx / 1000 + 1,
                    hex(flow_id, 27)
                ));
            }
            40..65 => {
                let name = if hit {
                    ind_domain(target)
                } else {
                    rand_domain(&mut rng)
                };
                line.push_str(&format!(
                    r#"{{{common},"dest_port":53,"proto":"UDP","event_type":"dns","dns":{{"version":2,"type":"answer","id":{},"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"{name}","rrtype":"A","rcode":"NOERROR","answers":[{{"rrname":"{name}","rrtype":"A","ttl":300,"rdata":"{}"}}],"grouped":{{"A":["{}"]}}}}}}"#,
                    rng.below(65536),
                    dst,
                    dst
                ));
            }
            65..85 => {
                let (host, url) = if hit && rng.chance(0.5) {
                    let u = ind_url(target);
                    let rest = &u["http://".len()..];
                    let (h, p) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                    (h.to_string(), p.to_string())
                } else {
                    (
                        if hit {
                            ind_domain(target)
                        } else {
                            rand_domain(&mut rng)
                        },
                        format!(
                            "/{}/{}.js",
                            WORDS[rng.below(20) as usize],
                            hex(rng.next(), 10)
                        ),
                    )
                };
                line.push_str(&format!(
                    r#"{{{common},"dest_port":80,"proto":"TCP","event_type":"http","tx_id":0,"http":{{"hostname":"{host}","url":"{url}","http_user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36","http_content_type":"application/javascript","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":{}}}}}"#,
                    rng.below(100_000)
                ));
            }
            85..95 => {
                let sni = if hit {
                    ind_domain(target)
                } else {
                    rand_domain(&mut rng)
                };
                let fp = hex(rng.next(), 40);
                line.push_str(&format!(
                    r#"{{{common},"dest_port":443,"proto":"TCP","event_type":"tls","tls":{{"subject":"CN={sni}","issuerdn":"C=US, O=Let's Encrypt, CN=R3","serial":"{}","fingerprint":"{}","sni":"{sni}","version":"TLS 1.2","notbefore":"2024-01-01T00:00:00","notafter":"2024-04-01T00:00:00","ja3":{{"hash":"{}","string":"771,4865-4866-4867,0-23-65281,29-23-24,0"}}}}}}"#,
                    hex(rng.next(), 10),
                    fp,
                    hex(rng.next(), 32)
                ));
            }
            _ => {
                let (md5, sha256) = if hit {
                    (ind_md5(target), ind_sha256(target))
                } else {
                    (hex(rng.next(), 32), hex(rng.next(), 64))
                };
                line.push_str(&format!(
                    r#"{{{common},"dest_port":80,"proto":"TCP","event_type":"fileinfo","app_proto":"http","http":{{"hostname":"{}","url":"/dl/{}.bin","http_content_type":"application/octet-stream","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":48213}},"fileinfo":{{"filename":"/dl/setup.bin","magic":"PE32 executable (GUI) Intel 80386, for MS Windows","gaps":false,"state":"CLOSED","md5":"{md5}","sha1":"{}","sha256":"{sha256}","stored":false,"size":48213,"tx_id":0}}}}"#,
                    rand_domain(&mut rng),
                    hex(rng.next(), 8),
                    hex(rng.next(), 40)
                ));
            }
        }
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn load(path: &str) -> (cairn_match::Matcher, u64, f64) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let started = Instant::now();
    let mut b = MatcherBuilder::new(Options::default());
    let mut skipped = 0;
    for line in BufReader::with_capacity(1 << 20, f).lines() {
        let line = line.expect("read indicators");
        let v: serde_json::Value = serde_json::from_str(&line).expect("indicator JSON");
        if b.add(&v).is_err() {
            skipped += 1;
        }
    }
    let m = b.build();
    (m, skipped, started.elapsed().as_secs_f64())
}

fn mem(path: &str) {
    let before = rss_kib();
    let (m, skipped, secs) = load(path);
    let after = rss_kib();
    let n = m.len().max(1) as f64;
    let text = m.pattern_text_bytes() as f64;
    println!(
        "indicators={} skipped={skipped} compile_s={secs:.2} pattern_text_bytes_per_indicator={:.1} index_bytes_per_indicator={:.1} rss_delta_bytes_per_indicator_beyond_text={:.1}",
        m.len(),
        text / n,
        m.index_bytes() as f64 / n,
        ((after.saturating_sub(before) * 1024) as f64 - text) / n,
    );
}

fn throughput(path: &str, eve: &str, limit: u64) {
    let (mut m, _, _) = load(path);
    let f = std::fs::File::open(eve).unwrap_or_else(|e| panic!("{eve}: {e}"));
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 20, f), &Format::Eve);
    let mut records = Vec::new();
    let mut rec = Record::new();
    let parse_start = Instant::now();
    while (records.len() as u64) < limit && reader.next_record(&mut rec).expect("read eve") {
        records.push(rec.clone());
    }
    let parse_secs = parse_start.elapsed().as_secs_f64();
    let mut hits = Vec::new();
    let started = Instant::now();
    for r in &records {
        m.match_record(r, &mut hits);
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "indicators={} records={} parse_records_per_s={:.0} match_records_per_s={:.0} hits={} candidates={}",
        m.len(),
        records.len(),
        records.len() as f64 / parse_secs,
        records.len() as f64 / secs,
        hits.len(),
        m.stats().candidates
    );
}

/// Read and match in one pass, as `cairn match --format eve` does: the figure to compare with
/// its end-to-end rate, and a small binary to run under callgrind.
fn stream(path: &str, eve: &str, limit: u64) {
    let (mut m, _, _) = load(path);
    let f = std::fs::File::open(eve).unwrap_or_else(|e| panic!("{eve}: {e}"));
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 20, f), &Format::Eve);
    let mut rec = Record::new();
    let mut hits = Vec::new();
    let started = Instant::now();
    while reader.stats().records < limit {
        let got = match m.prefilter() {
            Some(mut p) => reader.next_record_filtered(&mut rec, &mut p),
            None => reader.next_record(&mut rec),
        }
        .expect("read eve");
        if !got {
            break;
        }
        m.match_record(&rec, &mut hits);
    }
    let n = reader.stats().records;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "indicators={} records={n} stream_records_per_s={:.0} hits={} candidates={}",
        m.len(),
        n as f64 / secs,
        hits.len(),
        m.stats().candidates
    );
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen indicators COUNT [--mix exact|full] [--seed S] | gen eve COUNT --indicators COUNT [--hit-rate R] [--seed S] | gen mem FILE | gen throughput FILE EVE [--records N] | gen stream FILE EVE [--records N]";
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("{usage}"))
    };
    let seed: u64 = flag(&args, "--seed")
        .and_then(|s| s.parse().ok())
        .unwrap_or(42);
    match args.first().map(String::as_str) {
        Some("indicators") => gen_indicators(
            num(1),
            flag(&args, "--mix").as_deref() == Some("full"),
            seed,
        ),
        Some("eve") => {
            let inds: u64 = flag(&args, "--indicators")
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{usage}"));
            let rate: f64 = flag(&args, "--hit-rate")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0.001);
            gen_eve(num(1), inds, rate, seed)
        }
        Some("mem") => {
            mem(args.get(1).expect(usage));
            Ok(())
        }
        Some("throughput") => {
            let limit = flag(&args, "--records")
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000);
            throughput(args.get(1).expect(usage), args.get(2).expect(usage), limit);
            Ok(())
        }
        Some("stream") => {
            let limit = flag(&args, "--records")
                .and_then(|s| s.parse().ok())
                .unwrap_or(u64::MAX);
            stream(args.get(1).expect(usage), args.get(2).expect(usage), limit);
            Ok(())
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
