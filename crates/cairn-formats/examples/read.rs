//! Read a log file and count records and facts (for profiling the readers):
//!
//! `read eve|zeek FILE`
//!
//! Prints `records=N facts=F malformed=M` on stdout.

use std::io::BufReader;

use cairn_formats::{Format, LogReader, Record};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (format, path) = match args.as_slice() {
        [f, p] if f == "eve" => (Format::Eve, p),
        [f, p] if f == "zeek" => (Format::Zeek, p),
        _ => {
            eprintln!("usage: read eve|zeek FILE");
            std::process::exit(2);
        }
    };
    let f = std::fs::File::open(path)?;
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 20, f), &format);
    let mut rec = Record::new();
    let mut facts = 0u64;
    while reader.next_record(&mut rec)? {
        rec.for_each_fact(|_| facts += 1);
    }
    let s = reader.into_stats();
    println!(
        "records={} facts={facts} malformed={}",
        s.records, s.malformed
    );
    Ok(())
}
