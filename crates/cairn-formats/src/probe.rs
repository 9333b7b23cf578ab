//! Reading a line for its facts only: [`FactFilter`] (the consumer's side) and the building steps
//! a reader performs, written once over [`Build`] and run either into a [`Record`] (the full
//! record) or into a [`Probe`] (facts of the wanted SCO types handed straight to a filter,
//! nothing stored). Because both run the same mapping code, a probed line gives exactly the
//! facts, times, emptiness and errors of the record built from it.

use crate::record::{Fact, FactValue, Record, ScoIdx, write_micros};

/// A consumer that decides from a record's facts whether it needs the record itself
/// ([`crate::LogReader::next_record_filtered`]).
///
/// For each line, the reader calls [`FactFilter::wants`] for the SCO types it creates,
/// [`FactFilter::fact`] for every fact of a wanted type, then, for a well-formed line with
/// observables, [`FactFilter::needs_record`]; otherwise (a malformed line, one without
/// observables, or one the parser could not probe and builds) [`FactFilter::discard`]. A fact
/// may be reported more than once (addresses and names are not deduplicated as in a
/// [`Record`]; [`Fact::sco`] numbers the SCOs as the probe makes them), and facts reached
/// through references are reported as [`Record::for_each_fact`] reports them.
pub trait FactFilter {
    /// Whether facts of SCOs of this type matter. The name is a built-in string: its address
    /// and length identify it, so the answer may be memoized by them.
    fn wants(&mut self, sco_type: &'static str) -> bool;
    /// One fact of a wanted type.
    fn fact(&mut self, fact: &Fact<'_>);
    /// The line's facts are all reported: `true` to have the record built and returned,
    /// `false` to pass over it (it still counts as a record in [`crate::ReadStats`]).
    fn needs_record(&mut self, record: RecordInfo) -> bool;
    /// The line gives no record to decide on (malformed, without observables) or is built
    /// anyway: forget the facts reported since the last call of [`FactFilter::needs_record`].
    fn discard(&mut self) {}
}

/// What a filter learns of a record it may pass over: the fields of [`Record`] other than its
/// SCOs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    pub position: u64,
    pub time: Option<i64>,
    pub time_end: Option<i64>,
}

/// The outcome of probing one well-formed line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probed {
    /// The record would hold no SCO (counted as empty, like [`Record::is_empty`]).
    pub empty: bool,
    pub time: Option<i64>,
    pub time_end: Option<i64>,
}

/// The building steps of a reader's mapping (the methods of [`Record`] the readers use).
pub(crate) trait Build<'v> {
    type Sco: Copy;
    fn set_times(&mut self, time: Option<i64>, time_end: Option<i64>);
    fn add_sco(&mut self, type_: &'static str) -> Self::Sco;
    fn value_sco(&mut self, type_: &'static str, value: &'v str) -> Self::Sco;
    fn value_sco_built(
        &mut self,
        type_: &'static str,
        build: impl FnOnce(&mut String),
    ) -> Self::Sco;
    fn set_str(&mut self, sco: Self::Sco, path: &'static str, value: &'v str);
    fn set_str_lower(&mut self, sco: Self::Sco, path: &'static str, value: &'v str);
    fn set_str_built(
        &mut self,
        sco: Self::Sco,
        path: &'static str,
        build: impl FnOnce(&mut String),
    );
    fn set_time(&mut self, sco: Self::Sco, path: &'static str, micros: i64);
    fn set_int(&mut self, sco: Self::Sco, path: &'static str, value: i64);
    fn set_ref(&mut self, sco: Self::Sco, path: &'static str, target: Self::Sco);

    /// The `ipv4-addr` or `ipv6-addr` (chosen by the text) whose value is `ip`.
    fn ip_sco(&mut self, ip: &'v str) -> Self::Sco {
        let t = if ip.bytes().any(|c| c == b':') {
            "ipv6-addr"
        } else {
            "ipv4-addr"
        };
        self.value_sco(t, ip)
    }

    /// A `network-traffic` between two addresses (with their `ipv4-addr`/`ipv6-addr` SCOs),
    /// its ports, and `protocols` = the IP version plus `transport` (lower-cased) when given.
    fn network_traffic(
        &mut self,
        src: &'v str,
        dst: &'v str,
        src_port: Option<i64>,
        dst_port: Option<i64>,
        transport: Option<&'v str>,
    ) -> Self::Sco {
        let s = self.ip_sco(src);
        let d = self.ip_sco(dst);
        let n = self.add_sco("network-traffic");
        self.set_ref(n, "src_ref", s);
        self.set_ref(n, "dst_ref", d);
        if let Some(p) = src_port {
            self.set_int(n, "src_port", p);
        }
        if let Some(p) = dst_port {
            self.set_int(n, "dst_port", p);
        }
        let ip_version = if src.bytes().any(|c| c == b':') {
            "ipv6"
        } else {
            "ipv4"
        };
        self.set_str(n, "protocols[*]", ip_version);
        if let Some(p) = transport {
            self.set_str_lower(n, "protocols[*]", p);
        }
        n
    }
}

impl<'v> Build<'v> for Record {
    type Sco = ScoIdx;
    fn set_times(&mut self, time: Option<i64>, time_end: Option<i64>) {
        self.time = time;
        self.time_end = time_end;
    }
    fn add_sco(&mut self, type_: &'static str) -> ScoIdx {
        Record::add_sco(self, type_)
    }
    fn value_sco(&mut self, type_: &'static str, value: &'v str) -> ScoIdx {
        Record::value_sco(self, type_, value)
    }
    fn value_sco_built(&mut self, type_: &'static str, build: impl FnOnce(&mut String)) -> ScoIdx {
        Record::value_sco_built(self, type_, build)
    }
    fn set_str(&mut self, sco: ScoIdx, path: &'static str, value: &'v str) {
        Record::set_str(self, sco, path, value);
    }
    fn set_str_lower(&mut self, sco: ScoIdx, path: &'static str, value: &'v str) {
        Record::set_str_lower(self, sco, path, value);
    }
    fn set_str_built(&mut self, sco: ScoIdx, path: &'static str, build: impl FnOnce(&mut String)) {
        Record::set_str_built(self, sco, path, build);
    }
    fn set_time(&mut self, sco: ScoIdx, path: &'static str, micros: i64) {
        Record::set_time(self, sco, path, micros);
    }
    fn set_int(&mut self, sco: ScoIdx, path: &'static str, value: i64) {
        Record::set_int(self, sco, path, value);
    }
    fn set_ref(&mut self, sco: ScoIdx, path: &'static str, target: ScoIdx) {
        Record::set_ref(self, sco, path, target);
    }
}

/// An SCO as a [`Probe`] knows it: its type, whether the filter wants it, and its `value` when
/// it was made by [`Build::value_sco`] (the only property a reference to it reaches).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProbeSco<'v> {
    type_: &'static str,
    idx: ScoIdx,
    wanted: bool,
    value: Option<&'v str>,
}

/// [`Build`] that reports the facts of wanted SCO types to a [`FactFilter`] as they are made,
/// and keeps only the record's times and whether it has any SCO.
pub(crate) struct Probe<'f> {
    filter: &'f mut dyn FactFilter,
    /// Text of built values (lower-cased, formatted, assembled), one at a time.
    scratch: &'f mut String,
    scos: ScoIdx,
    time: Option<i64>,
    time_end: Option<i64>,
    /// A reference reached an SCO whose properties the probe does not keep: its facts cannot
    /// all be reported, so the record must be built.
    incomplete: bool,
}

impl<'f> Probe<'f> {
    pub(crate) fn new(filter: &'f mut dyn FactFilter, scratch: &'f mut String) -> Probe<'f> {
        Probe {
            filter,
            scratch,
            scos: 0,
            time: None,
            time_end: None,
            incomplete: false,
        }
    }

    /// The outcome; `None` when the record must be built to know its facts.
    pub(crate) fn finish(self) -> Option<Probed> {
        (!self.incomplete).then_some(Probed {
            empty: self.scos == 0,
            time: self.time,
            time_end: self.time_end,
        })
    }

    fn new_sco<'v>(&mut self, type_: &'static str, value: Option<&'v str>) -> ProbeSco<'v> {
        let idx = self.scos;
        self.scos += 1;
        ProbeSco {
            type_,
            idx,
            wanted: self.filter.wants(type_),
            value,
        }
    }

    /// A scalar property on an SCO made by `value_sco`: references to it would reach more than
    /// its `value`, which `set_ref` assumes; never so in the built-in mappings, but should it
    /// happen the record is built.
    #[inline]
    fn check_scalar_owner(&mut self, sco: ProbeSco<'_>) {
        if sco.value.is_some() {
            self.incomplete = true;
        }
    }

    #[inline]
    fn report(&mut self, sco: ProbeSco<'_>, path: &'static str, value: FactValue<'_>) {
        self.filter.fact(&Fact {
            sco_type: sco.type_,
            sco: sco.idx,
            path,
            sub: None,
            value,
            static_names: true,
        });
    }

    /// Report a string built into the scratch buffer.
    fn report_built(
        &mut self,
        sco: ProbeSco<'_>,
        path: &'static str,
        build: impl FnOnce(&mut String),
    ) {
        self.scratch.clear();
        build(self.scratch);
        self.filter.fact(&Fact {
            sco_type: sco.type_,
            sco: sco.idx,
            path,
            sub: None,
            value: FactValue::Str(self.scratch),
            static_names: true,
        });
    }
}

impl<'v> Build<'v> for Probe<'_> {
    type Sco = ProbeSco<'v>;
    fn set_times(&mut self, time: Option<i64>, time_end: Option<i64>) {
        self.time = time;
        self.time_end = time_end;
    }
    fn add_sco(&mut self, type_: &'static str) -> ProbeSco<'v> {
        self.new_sco(type_, None)
    }
    fn value_sco(&mut self, type_: &'static str, value: &'v str) -> ProbeSco<'v> {
        let sco = self.new_sco(type_, Some(value));
        if sco.wanted {
            self.report(sco, "value", FactValue::Str(value));
        }
        sco
    }
    fn value_sco_built(
        &mut self,
        type_: &'static str,
        build: impl FnOnce(&mut String),
    ) -> ProbeSco<'v> {
        // The value lives in the scratch buffer only: a reference to this SCO makes the probe
        // incomplete (see `set_ref`).
        let sco = self.new_sco(type_, None);
        if sco.wanted {
            self.report_built(sco, "value", build);
        }
        sco
    }
    fn set_str(&mut self, sco: ProbeSco<'v>, path: &'static str, value: &'v str) {
        self.check_scalar_owner(sco);
        if sco.wanted {
            self.report(sco, path, FactValue::Str(value));
        }
    }
    fn set_str_lower(&mut self, sco: ProbeSco<'v>, path: &'static str, value: &'v str) {
        self.check_scalar_owner(sco);
        if sco.wanted {
            self.report_built(sco, path, |s| {
                s.push_str(value);
                s.make_ascii_lowercase();
            });
        }
    }
    fn set_str_built(
        &mut self,
        sco: ProbeSco<'v>,
        path: &'static str,
        build: impl FnOnce(&mut String),
    ) {
        self.check_scalar_owner(sco);
        if sco.wanted {
            self.report_built(sco, path, build);
        }
    }
    fn set_time(&mut self, sco: ProbeSco<'v>, path: &'static str, micros: i64) {
        self.check_scalar_owner(sco);
        if sco.wanted {
            self.report_built(sco, path, |s| write_micros(s, micros, true));
        }
    }
    fn set_int(&mut self, sco: ProbeSco<'v>, path: &'static str, value: i64) {
        self.check_scalar_owner(sco);
        if sco.wanted {
            self.report(sco, path, FactValue::Int(value));
        }
    }
    fn set_ref(&mut self, sco: ProbeSco<'v>, path: &'static str, target: ProbeSco<'v>) {
        if !sco.wanted {
            return;
        }
        match target.value {
            // A value SCO's only scalar property is its `value`.
            Some(v) => self.filter.fact(&Fact {
                sco_type: sco.type_,
                sco: sco.idx,
                path,
                sub: Some("value"),
                value: FactValue::Str(v),
                static_names: true,
            }),
            None => self.incomplete = true,
        }
    }
}
