"""Write the STIX validation corpus and record the OASIS stix2-validator's verdict on each case.

Usage (from the repository root):
    .venv/bin/python tests/python/gen_stix_corpus.py

Writes:
    crates/cairn-stix/tests/fixtures/stix_corpus.json
        [{"name", "kind": "object"|"bundle", "expect": "valid"|"invalid", "rule", "object",
          "validator_version"?, "validator_wrong"?}]
    crates/cairn-stix/tests/fixtures/stix_validator_expectations.json
        {"validator", "options", "cases": {name: {"valid": bool, "errors": [...]}}}

Every invalid case is a near miss of a valid object with exactly one rule broken. A case carries
"validator_wrong" (the reason) when stix2-validator's verdict contradicts the STIX 2.1
specification; the Rust test then follows the specification and still checks the recorded verdict.
"""

import copy
import re
import hashlib
import json
import pathlib
import uuid

import stix2
from stix2validator import ValidationOptions, validate_instance

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "crates" / "cairn-stix" / "tests" / "fixtures"
CORPUS = FIXTURES / "stix_corpus.json"
EXPECTATIONS = FIXTURES / "stix_validator_expectations.json"


def uid(type_, seed):
    """A stable UUIDv4-shaped identifier for `seed`."""
    h = hashlib.md5(seed.encode()).digest()
    return "%s--%s" % (type_, uuid.UUID(bytes=h, version=4))


def sco(obj):
    """Give an SCO its deterministic id (from the stix2 library), or a UUIDv4 if it has none."""
    parsed = stix2.parse(dict(obj), allow_custom=True, version="2.1")
    out = {"type": obj["type"], "spec_version": "2.1", "id": parsed["id"]}
    out.update({k: v for k, v in obj.items() if k != "type"})
    return out


T0 = "2024-03-01T09:15:00.000Z"
T1 = "2024-03-02T10:20:30.123Z"

IDENTITY = uid("identity", "cert-a")
TLP_GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
TLP2_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
TLP2_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
MALWARE = uid("malware", "wannacry")
INDICATOR = uid("indicator", "c2-ip")
CAMPAIGN = uid("campaign", "spring")
LOCATION = uid("location", "be")
OBSERVED = uid("observed-data", "obs-1")
EXT_DEF = uid("extension-definition", "acme-score")
NEW_SDO_DEF = uid("extension-definition", "acme-sdo")


def sdo(type_, seed, **props):
    obj = {
        "type": type_,
        "spec_version": "2.1",
        "id": uid(type_, seed),
        "created": T0,
        "modified": T1,
    }
    obj.update(props)
    return obj


IPV4 = sco({"type": "ipv4-addr", "value": "198.51.100.3"})
IPV6 = sco({"type": "ipv6-addr", "value": "2001:db8::1"})
MAC = sco({"type": "mac-addr", "value": "d2:fb:49:24:37:18"})
DOMAIN = sco({"type": "domain-name", "value": "c2.example.com", "resolves_to_refs": [IPV4["id"]]})
EMAIL_ADDR = sco({"type": "email-addr", "value": "ops@example.org", "display_name": "Ops"})
DIRECTORY = sco({"type": "directory", "path": "C:\\Windows\\Temp"})
ARTIFACT = sco({"type": "artifact", "mime_type": "application/zip", "payload_bin": "UEsDBBQAAAAIAA=="})
FILE = sco({
    "type": "file",
    "hashes": {"SHA-256": "ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa"},
    "name": "mssecsvc.exe",
    "size": 3723264,
    "parent_directory_ref": DIRECTORY["id"],
})
SOFTWARE = sco({"type": "software", "name": "Windows 7", "vendor": "Microsoft", "version": "6.1"})
USER = sco({"type": "user-account", "user_id": "1001", "account_login": "jdoe", "account_type": "unix"})
NET = sco({
    "type": "network-traffic",
    "src_ref": IPV4["id"],
    "dst_ref": IPV6["id"],
    "src_port": 49152,
    "dst_port": 445,
    "protocols": ["ipv4", "tcp", "smb"],
    "start": "2024-03-01T09:00:00Z",
    "end": "2024-03-01T09:05:00Z",
    "is_active": False,
})

SCOS = [
    IPV4, IPV6, MAC, DOMAIN, EMAIL_ADDR, DIRECTORY, ARTIFACT, FILE, SOFTWARE, USER, NET,
    sco({"type": "autonomous-system", "number": 64496, "name": "Example AS", "rir": "RIPE"}),
    sco({
        "type": "email-message",
        "is_multipart": False,
        "from_ref": EMAIL_ADDR["id"],
        "subject": "Invoice overdue",
        "date": "2024-03-01T08:00:00Z",
        "body": "Please see the attachment.",
    }),
    sco({"type": "mutex", "name": "Global\\MsWinZonesCacheCounterMutexA"}),
    {"type": "process", "spec_version": "2.1", "id": uid("process", "p1"), "pid": 1221,
     "command_line": "mssecsvc.exe -m security", "image_ref": FILE["id"]},
    sco({"type": "url", "value": "https://c2.example.com/gate.php"}),
    sco({"type": "windows-registry-key",
         "key": "HKEY_LOCAL_MACHINE\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
         "values": [{"name": "mssecsvc", "data": "C:\\Windows\\mssecsvc.exe", "data_type": "REG_SZ"}]}),
    sco({"type": "x509-certificate", "issuer": "CN=Example CA", "serial_number": "36:f7:d4:32:f4:ab:70:ea",
         "validity_not_before": "2024-01-01T00:00:00Z", "validity_not_after": "2025-01-01T00:00:00Z",
         "subject": "CN=c2.example.com"}),
]

SDOS = [
    sdo("identity", "cert-a", name="CERT-A", identity_class="organization", sectors=["government-national"],
        contact_information="cert@example.org"),
    sdo("attack-pattern", "spearphish", name="Spearphishing Attachment", created_by_ref=IDENTITY,
        external_references=[{"source_name": "capec", "external_id": "CAPEC-163"}],
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}]),
    sdo("campaign", "spring", name="Spring Harvest", first_seen="2024-01-01T00:00:00Z",
        last_seen="2024-02-01T00:00:00Z", objective="Credential theft"),
    sdo("course-of-action", "patch", name="Apply MS17-010", description="Install the security update."),
    sdo("grouping", "g1", name="Suspicious SMB activity", context="suspicious-activity",
        object_refs=[INDICATOR, MALWARE]),
    sdo("incident", "i1", name="Ransomware outbreak at hospital", description="Joint incident"),
    sdo("indicator", "c2-ip", name="WannaCry C2", indicator_types=["malicious-activity"],
        pattern="[ipv4-addr:value = '198.51.100.3']", pattern_type="stix", pattern_version="2.1",
        valid_from="2024-03-01T00:00:00Z", valid_until="2024-06-01T00:00:00Z",
        object_marking_refs=[TLP_GREEN]),
    sdo("infrastructure", "c2", name="C2 server", infrastructure_types=["command-and-control"],
        first_seen="2024-01-01T00:00:00Z", last_seen="2024-01-01T00:00:00Z"),
    sdo("intrusion-set", "lazarus", name="Example Group", aliases=["EG"], goals=["financial gain"],
        resource_level="government", primary_motivation="organizational-gain"),
    sdo("location", "be", name="Belgium", country="BE", region="western-europe"),
    sdo("location", "pt", latitude=48.8566, longitude=2.3522, precision=1000.0),
    sdo("malware", "wannacry", name="WannaCry", is_family=True, malware_types=["ransomware", "worm"],
        implementation_languages=["c"], sample_refs=[FILE["id"]]),
    sdo("malware", "sample", is_family=False, sample_refs=[FILE["id"]]),
    sdo("malware-analysis", "ma1", product="ExampleSandbox", version="4.2", result="malicious",
        sample_ref=FILE["id"], host_vm_ref=SOFTWARE["id"], analysis_sco_refs=[IPV4["id"]],
        submitted="2024-03-01T09:00:00Z", analysis_started="2024-03-01T09:00:01Z",
        analysis_ended="2024-03-01T09:10:00Z"),
    sdo("note", "n1", abstract="Attribution note", content="Code overlap with an earlier family.",
        authors=["Analyst A"], object_refs=[MALWARE]),
    sdo("observed-data", "obs-1", first_observed="2024-03-01T09:00:00Z", last_observed="2024-03-01T09:05:00Z",
        number_observed=3, object_refs=[IPV4["id"], NET["id"]]),
    sdo("observed-data", "obs-embedded", first_observed="2024-03-01T09:00:00Z",
        last_observed="2024-03-01T09:00:00Z", number_observed=1,
        objects={"0": {"type": "ipv4-addr", "id": IPV4["id"], "value": "198.51.100.3"}}),
    sdo("opinion", "op1", opinion="agree", explanation="Consistent with our telemetry.", object_refs=[INDICATOR]),
    sdo("report", "r1", name="WannaCry advisory", report_types=["threat-report"], published="2024-03-03T12:00:00Z",
        object_refs=[INDICATOR, MALWARE], created_by_ref=IDENTITY),
    sdo("threat-actor", "ta1", name="Example Actor", threat_actor_types=["nation-state"],
        first_seen="2023-01-01T00:00:00Z", last_seen="2024-01-01T00:00:00Z", sophistication="advanced"),
    sdo("tool", "t1", name="PsExec", tool_types=["remote-access"], tool_version="2.2"),
    sdo("vulnerability", "v1", name="CVE-2017-0144",
        external_references=[{"source_name": "cve", "external_id": "CVE-2017-0144"}]),
]

SROS = [
    sdo("relationship", "rel1", relationship_type="indicates", source_ref=INDICATOR, target_ref=MALWARE,
        start_time="2024-03-01T00:00:00Z", stop_time="2024-04-01T00:00:00Z"),
    sdo("relationship", "rel-sco", relationship_type="related-to", source_ref=DOMAIN["id"], target_ref=MALWARE),
    sdo("sighting", "s1", sighting_of_ref=INDICATOR, observed_data_refs=[OBSERVED],
        where_sighted_refs=[IDENTITY, LOCATION], count=12, first_seen="2024-03-01T09:00:00Z",
        last_seen="2024-03-01T10:00:00Z", summary=False),
]

MARKINGS = [
    {"type": "marking-definition", "spec_version": "2.1", "id": uid("marking-definition", "statement"),
     "created": T0, "definition_type": "statement",
     "definition": {"statement": "Copyright 2024, CERT-A"}},
    {"type": "marking-definition", "spec_version": "2.1", "id": TLP_GREEN,
     "created": "2017-01-20T00:00:00.000Z", "definition_type": "tlp", "name": "TLP:GREEN",
     "definition": {"tlp": "green"}},
    {"type": "marking-definition", "spec_version": "2.1", "id": TLP2_AMBER_STRICT,
     "created": "2022-10-01T00:00:00.000Z", "name": "TLP:AMBER+STRICT",
     "extensions": {TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": "amber+strict"}}},
    {"type": "marking-definition", "spec_version": "2.1",
     "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
     "created": "2022-10-01T00:00:00.000Z", "name": "TLP:CLEAR",
     "extensions": {TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": "clear"}}},
]

META = [
    sdo("language-content", "lc1", object_ref=CAMPAIGN, object_modified=T1,
        contents={"de": {"name": "Frühlingsernte", "description": "Diebstahl von Zugangsdaten"},
                  "fr": {"name": "Récolte de printemps"}}),
    sdo("extension-definition", "acme-score", created_by_ref=IDENTITY, name="Acme score",
        description="Adds a numeric score to indicators", schema="https://acme.example/schema.json",
        version="1.0.0", extension_types=["property-extension"]),
    sdo("extension-definition", "acme-top", created_by_ref=IDENTITY, name="Acme top-level",
        schema="https://acme.example/top.json", version="1.0.0",
        extension_types=["toplevel-property-extension"], extension_properties=["x_acme_region"]),
]

CUSTOM = [
    # A predefined object with a property extension and custom properties.
    sdo("indicator", "ext-use", pattern="[domain-name:value = 'c2.example.com']", pattern_type="stix",
        valid_from="2024-03-01T00:00:00Z", x_acme_triage="high",
        extensions={EXT_DEF: {"extension_type": "property-extension", "score": 87}}),
    # A new SDO type defined by an extension definition.
    {"type": "x-acme-campaign-note", "spec_version": "2.1", "id": uid("x-acme-campaign-note", "n1"),
     "created": T0, "modified": T1, "summary_text": "Tracking note",
     "extensions": {NEW_SDO_DEF: {"extension_type": "new-sdo"}}},
    # A legacy custom object (no extension definition).
    {"type": "x-acme-widget", "spec_version": "2.1", "id": uid("x-acme-widget", "w1"), "created": T0,
     "modified": T0, "widget_size": 3},
    # A custom SCO.
    {"type": "x-acme-serial", "spec_version": "2.1", "id": uid("x-acme-serial", "s1"), "value": "COM3"},
    # Granular markings with a selector into a list.
    sdo("indicator", "granular", pattern="[url:value = 'https://c2.example.com/']", pattern_type="stix",
        valid_from="2024-03-01T00:00:00Z", name="Gate URL", labels=["phishing", "c2"],
        granular_markings=[{"marking_ref": TLP_GREEN, "selectors": ["name", "labels.[1]"]}]),
    # Sub-second precision beyond milliseconds, kept as given.
    sdo("campaign", "micro", name="Micro", created="2024-03-01T09:15:00.123456Z",
        modified="2024-03-01T09:15:00.1234567Z"),
    # A file with a predefined extension.
    sco({"type": "file", "name": "dropper.zip", "hashes": {"MD5": "8b1a9953c4611296a827abf8c47804d7"},
         "extensions": {"archive-ext": {"contains_refs": [FILE["id"]]}}}),
    # network-traffic with http-request-ext.
    sco({"type": "network-traffic", "dst_ref": DOMAIN["id"], "protocols": ["tcp", "http"],
         "extensions": {"http-request-ext": {"request_method": "get", "request_value": "/gate.php",
                                             "request_header": {"Host": ["c2.example.com"]}}}}),
]

CUSTOM.append(sdo("indicator", "granular-lang", pattern="[url:value = 'https://c2.example.com/']",
                  pattern_type="stix", valid_from="2024-03-01T00:00:00Z", name="Gate URL",
                  granular_markings=[{"lang": "en", "selectors": ["name"]}]))
VALID = []
for o in SDOS + SROS + SCOS + MARKINGS + META + CUSTOM:
    VALID.append(o)


def name_of(o, i):
    return "valid/%02d-%s" % (i, o["type"])


VALIDATOR_WRONG_VALID = {
    uid("indicator", "granular-lang"): "STIX 2.1 section 7.2.3: a granular marking carries either "
    "marking_ref or lang; the validator's schema requires marking_ref",
    uid("campaign", "micro"): "STIX 2.1 section 3.2: timestamps may carry any sub-second precision and "
    "09:15:00.1234567 is later than 09:15:00.123456; the validator parses at most 6 fraction digits and "
    "falls back to comparing the texts",
}

CASES = []
for i, o in enumerate(VALID):
    case = {"name": name_of(o, i), "kind": "object", "expect": "valid", "rule": "", "object": o}
    if o["id"] in VALIDATOR_WRONG_VALID:
        case["validator_wrong"] = VALIDATOR_WRONG_VALID[o["id"]]
    CASES.append(case)

# A STIX 2.0 SDO (no spec_version): kept, checked leniently; the validator is run in 2.0 mode.
CASES.append({"name": "valid/2.0-indicator", "kind": "object", "expect": "valid", "rule": "",
              "validator_version": "2.0",
              "object": {"type": "indicator", "id": uid("indicator", "v20"), "created": "2016-04-06T20:03:48.000Z",
                         "modified": "2016-04-06T20:03:48.000Z", "labels": ["malicious-activity"],
                         "pattern": "[ipv4-addr:value = '198.51.100.3']", "valid_from": "2016-01-01T00:00:00Z"}})

BUNDLE_OBJECTS = [SDOS[0], SDOS[6], SDOS[11], SROS[0], IPV4, MARKINGS[1]]
CASES.append({"name": "valid/bundle", "kind": "bundle", "expect": "valid", "rule": "",
              "object": {"type": "bundle", "id": uid("bundle", "b1"), "objects": BUNDLE_OBJECTS}})


def find(type_, seed=None):
    for o in VALID:
        if o["type"] == type_ and (seed is None or o["id"] == uid(type_, seed)):
            return o
    raise KeyError(type_)


INVALID = []


def bad(name, rule, base, patch=None, drop=(), wrong=None, kind="object", version=None):
    o = copy.deepcopy(base)
    for k in drop:
        del o[k]
    for k, v in (patch or {}).items():
        o[k] = v
    case = {"name": "invalid/" + name, "kind": kind, "expect": "invalid", "rule": rule, "object": o}
    if wrong:
        case["validator_wrong"] = wrong
    if version:
        case["validator_version"] = version
    INVALID.append(case)


ind = find("indicator", "c2-ip")
mal = find("malware", "wannacry")
camp = find("campaign", "spring")
# Identity, type, spec_version
bad("id-missing", "id is required", ind, drop=["id"])
bad("id-type-mismatch", "id's type must equal type", mal, {"id": uid("indicator", "x")})
bad("id-not-uuid", "id must be type--UUID", ind, {"id": "indicator--not-a-uuid"})
bad("id-uuid-version-0", "id must be an RFC 4122 UUID", ind, {"id": "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"})
bad("id-uuid-no-hyphens", "id must be type--UUID (hyphenated)", ind, {"id": "indicator--8e2e2d2b17d44cbf938f98ee46b3cd3f"})
bad("type-uppercase", "type names are lowercase", {**find("x-acme-widget"), "type": "x-Acme-widget", "id": uid("x-Acme-widget", "w1")})
bad("type-too-short", "type names have 3-250 characters", {**find("x-acme-widget"), "type": "xa", "id": uid("xa", "w1")})
bad("type-reserved-action", "'action' is a reserved type", {**find("x-acme-widget"), "type": "action", "id": uid("action", "w1")})
bad("spec-version-2.2", "spec_version must be 2.1", ind, {"spec_version": "2.2"})
bad("sco-spec-version-2.0", "an SCO's spec_version must be 2.1", IPV4, {"spec_version": "2.0"},
    wrong="STIX 2.1 section 3.2: spec_version MUST be 2.1 for objects defined by this specification; "
          "the validator's schema allows 2.0 (SCOs did not exist as top-level objects in 2.0)")
# Timestamps
bad("created-missing", "created is required", ind, drop=["created"])
bad("modified-missing", "modified is required", ind, drop=["modified"])
bad("created-offset", "timestamps must be UTC with Z", ind, {"created": "2024-03-01T09:15:00.000+00:00"})
bad("created-no-millis", "created must be precise to the millisecond", ind, {"created": "2024-03-01T09:15:00Z"})
bad("created-month-13", "timestamps must be valid dates", ind, {"created": "2024-13-01T09:15:00.000Z"})
bad("created-feb-30", "timestamps must be valid dates", ind, {"created": "2024-02-30T09:15:00.000Z"})
bad("created-number", "timestamps are strings", ind, {"created": 1709284500})
bad("created-lowercase-t", "timestamps use an uppercase T", ind, {"created": "2024-03-01t09:15:00.000Z"})
bad("modified-before-created", "modified >= created", ind, {"modified": "2024-02-01T00:00:00.000Z"})
# Common properties
bad("revoked-string", "revoked is a boolean", ind, {"revoked": "yes"})
bad("confidence-101", "confidence is 0-100", ind, {"confidence": 101})
bad("confidence-negative", "confidence is 0-100", ind, {"confidence": -1})
bad("confidence-float", "confidence is an integer", ind, {"confidence": 50.5})
bad("labels-empty", "empty lists are prohibited", ind, {"labels": []})
bad("labels-not-strings", "labels is a list of strings", ind, {"labels": [1, 2]})
bad("lang-not-a-tag", "lang is an RFC 5646 tag", ind, {"lang": "english!"})
bad("ext-ref-no-source-name", "external_references source_name is required", ind,
    {"external_references": [{"url": "https://example.org/advisory"}]})
bad("ext-ref-bad-capec", "capec external_id is CAPEC-N", find("attack-pattern"),
    {"external_references": [{"source_name": "capec", "external_id": "CAPEC-abc"}]})
bad("ext-ref-bad-cve", "cve external_id is CVE-YYYY-NNNN", find("vulnerability"),
    {"external_references": [{"source_name": "cve", "external_id": "CVE-17-144"}]})
bad("ext-ref-cve-no-id", "cve references need external_id", find("vulnerability"),
    {"external_references": [{"source_name": "cve", "url": "https://cve.example/CVE-2017-0144"}]})
bad("ext-ref-only-source", "external reference needs description, url or external_id", ind,
    {"external_references": [{"source_name": "acme"}]})
bad("ext-ref-bad-md5", "MD5 hashes are 32 hex digits", ind,
    {"external_references": [{"source_name": "acme", "url": "https://acme.example/r.pdf", "hashes": {"MD5": "1234"}}]})
bad("created-by-ref-malware", "created_by_ref must be an identity", ind, {"created_by_ref": MALWARE},
    wrong="STIX 2.1 section 3.2: created_by_ref MUST refer to an identity object; the validator only "
          "checks that it is an identifier")
bad("created-by-ref-garbage", "created_by_ref is an identifier", ind, {"created_by_ref": "CERT-A"})
bad("object-marking-refs-identity", "object_marking_refs must be marking-definitions", ind, {"object_marking_refs": [IDENTITY]},
    wrong="STIX 2.1 section 7.2.2: object_marking_refs MUST reference marking-definition objects; the "
          "validator's core schema only checks that they are identifiers")
bad("granular-selector-unresolved", "selectors must resolve", ind,
    {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["description"]}]})
bad("granular-selector-bad-index", "selectors must resolve (index)", find("indicator", "granular"),
    {"granular_markings": [{"marking_ref": TLP_GREEN, "selectors": ["labels.[5]"]}]})
bad("granular-no-selectors", "granular markings need selectors", ind,
    {"granular_markings": [{"marking_ref": TLP_GREEN}]})
bad("granular-marking-ref-identity", "marking_ref must be a marking-definition", ind,
    {"granular_markings": [{"marking_ref": IDENTITY, "selectors": ["name"]}]})
bad("granular-both-ref-and-lang", "marking_ref and lang are mutually exclusive", ind,
    {"granular_markings": [{"marking_ref": TLP_GREEN, "lang": "en", "selectors": ["name"]}]},
    wrong="STIX 2.1 section 7.2.3: marking_ref MUST NOT be present if lang is present; the validator's "
          "schema only requires marking_ref")
bad("custom-prop-uppercase", "property names are ^[a-z0-9_]{3,250}$", ind, {"x_Acme_score": 3})
bad("custom-prop-too-short", "property names have at least 3 characters", ind, {"xa": 3})
bad("custom-prop-hyphen", "property names use no hyphen", ind, {"x-acme-score": 3})
bad("property-null", "null values are prohibited", ind, {"description": None})
bad("reserved-property-severity", "severity is a reserved property name", ind, {"severity": "high"})
bad("extensions-bad-key", "extension keys are extension-definition--UUID or *-ext", ind,
    {"extensions": {"acme": {"score": 1}}})
bad("extension-no-extension-type", "extensions defined by an extension-definition carry extension_type", ind,
    {"extensions": {EXT_DEF: {"score": 1}}})
bad("extension-type-unknown", "extension_type is an enumeration", ind,
    {"extensions": {EXT_DEF: {"extension_type": "property-plugin", "score": 1}}})
bad("extensions-empty", "extensions must not be empty", ind, {"extensions": {}})
# SDO required properties and rules
bad("attack-pattern-no-name", "attack-pattern requires name", find("attack-pattern"), drop=["name"])
bad("campaign-last-before-first", "campaign last_seen >= first_seen", camp, {"last_seen": "2023-12-01T00:00:00Z"})
bad("campaign-no-name", "campaign requires name", camp, drop=["name"])
bad("course-of-action-no-name", "course-of-action requires name", find("course-of-action"), drop=["name"])
bad("grouping-no-context", "grouping requires context", find("grouping"), drop=["context"])
bad("grouping-no-object-refs", "grouping requires object_refs", find("grouping"), drop=["object_refs"])
bad("grouping-object-refs-garbage", "object_refs are identifiers", find("grouping"), {"object_refs": ["WannaCry"]})
bad("identity-no-name", "identity requires name", find("identity"), drop=["name"])
bad("incident-no-name", "incident requires name", find("incident"), drop=["name"])
bad("indicator-no-pattern", "indicator requires pattern", ind, drop=["pattern"])
bad("indicator-no-pattern-type", "indicator requires pattern_type", ind, drop=["pattern_type"])
bad("indicator-no-valid-from", "indicator requires valid_from", ind, drop=["valid_from"])
bad("indicator-valid-until-equal", "valid_until > valid_from", ind, {"valid_until": ind["valid_from"]})
bad("indicator-valid-until-before", "valid_until > valid_from", ind, {"valid_until": "2023-01-01T00:00:00Z"})
bad("indicator-pattern-syntax", "a stix pattern must parse", ind, {"pattern": "[ipv4-addr:value = '198.51.100.3'"})
bad("indicator-valid-from-bad", "valid_from is a timestamp", ind, {"valid_from": "yesterday"})
bad("infrastructure-no-name", "infrastructure requires name", find("infrastructure"), drop=["name"])
bad("infrastructure-last-before-first", "infrastructure last_seen >= first_seen", find("infrastructure"),
    {"last_seen": "2023-01-01T00:00:00Z"})
bad("intrusion-set-last-before-first", "intrusion-set last_seen >= first_seen", find("intrusion-set"),
    {"first_seen": "2024-02-01T00:00:00Z", "last_seen": "2024-01-01T00:00:00Z"})
bad("intrusion-set-no-name", "intrusion-set requires name", find("intrusion-set"), drop=["name"])
loc_pt = find("location", "pt")
bad("location-latitude-only", "latitude requires longitude", loc_pt, drop=["longitude", "precision"])
bad("location-nothing", "location needs region, country or lat/long", find("location", "be"), drop=["country", "region"])
bad("location-latitude-91", "latitude is -90..90", loc_pt, {"latitude": 91.0})
bad("location-longitude-181", "longitude is -180..180", loc_pt, {"longitude": -181.0})
bad("location-precision-alone", "precision requires latitude and longitude", find("location", "be"), {"precision": 10.0})
bad("malware-no-is-family", "malware requires is_family", mal, drop=["is_family"])
bad("malware-family-no-name", "a malware family requires name", mal, drop=["name"])
bad("malware-os-refs-identity", "operating_system_refs must be software", mal, {"operating_system_refs": [IDENTITY]})
bad("malware-is-family-string", "is_family is a boolean", mal, {"is_family": "true"})
bad("malware-last-before-first", "malware last_seen >= first_seen", mal,
    {"first_seen": "2024-02-01T00:00:00Z", "last_seen": "2024-01-01T00:00:00Z"})
ma = find("malware-analysis")
bad("malware-analysis-no-product", "malware-analysis requires product", ma, drop=["product"])
bad("malware-analysis-no-result", "malware-analysis requires result or analysis_sco_refs", ma, drop=["result", "analysis_sco_refs"])
bad("malware-analysis-host-vm-file", "host_vm_ref must be software", ma, {"host_vm_ref": FILE["id"]})
bad("malware-analysis-sample-ref-ip", "sample_ref must be file, artifact or network-traffic", ma, {"sample_ref": IPV4["id"]})
bad("note-no-content", "note requires content", find("note"), drop=["content"])
bad("note-no-object-refs", "note requires object_refs", find("note"), drop=["object_refs"])
obs = find("observed-data", "obs-1")
bad("observed-data-both", "observed-data needs exactly one of objects/object_refs", obs,
    {"objects": {"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}})
bad("observed-data-neither", "observed-data needs one of objects/object_refs", obs, drop=["object_refs"])
bad("observed-data-count-0", "number_observed is 1..999999999", obs, {"number_observed": 0})
bad("observed-data-count-huge", "number_observed is 1..999999999", obs, {"number_observed": 1000000000})
bad("observed-data-last-before-first", "last_observed >= first_observed", obs, {"last_observed": "2024-02-01T00:00:00Z"})
bad("observed-data-no-number", "observed-data requires number_observed", obs, drop=["number_observed"])
bad("observed-data-refs-sdo", "object_refs of observed-data are SCOs or SROs", obs, {"object_refs": [INDICATOR]})
bad("opinion-not-in-enum", "opinion is a closed enumeration", find("opinion"), {"opinion": "maybe"})
bad("opinion-no-object-refs", "opinion requires object_refs", find("opinion"), drop=["object_refs"])
rep = find("report")
bad("report-no-published", "report requires published", rep, drop=["published"])
bad("report-no-object-refs", "report requires object_refs", rep, drop=["object_refs"])
bad("report-no-name", "report requires name", rep, drop=["name"])
bad("threat-actor-no-name", "threat-actor requires name", find("threat-actor"), drop=["name"])
bad("threat-actor-last-before-first", "threat-actor last_seen >= first_seen", find("threat-actor"),
    {"last_seen": "2022-01-01T00:00:00Z"})
bad("tool-no-name", "tool requires name", find("tool"), drop=["name"])
bad("vulnerability-no-name", "vulnerability requires name", find("vulnerability"), drop=["name"])
bad("kill-chain-phase-no-phase-name", "kill chain phases need phase_name", find("attack-pattern"),
    {"kill_chain_phases": [{"kill_chain_name": "mitre-attack"}]})
# SROs
rel = find("relationship", "rel1")
bad("relationship-no-type", "relationship requires relationship_type", rel, drop=["relationship_type"])
bad("relationship-no-target", "relationship requires target_ref", rel, drop=["target_ref"])
bad("relationship-source-marking", "source_ref must be an SDO or SCO", rel, {"source_ref": TLP_GREEN})
bad("relationship-target-sighting", "target_ref must be an SDO or SCO", rel, {"target_ref": uid("sighting", "s1")})
bad("relationship-stop-before-start", "stop_time > start_time", rel, {"stop_time": "2024-02-01T00:00:00Z"})
bad("relationship-stop-equals-start", "stop_time > start_time", rel, {"stop_time": rel["start_time"]})
bad("relationship-type-uppercase", "relationship_type is a-z, 0-9, hyphen", rel, {"relationship_type": "Indicates"})
sig = find("sighting")
bad("sighting-no-sighting-of", "sighting requires sighting_of_ref", sig, drop=["sighting_of_ref"])
bad("sighting-where-sighted-malware", "where_sighted_refs are identity or location", sig, {"where_sighted_refs": [MALWARE]})
bad("sighting-observed-data-indicator", "observed_data_refs are observed-data", sig, {"observed_data_refs": [INDICATOR]})
bad("sighting-count-negative", "count is 0..999999999", sig, {"count": -1})
bad("sighting-of-relationship", "sighting_of_ref must be an SDO", sig, {"sighting_of_ref": rel["id"]})
bad("sighting-of-sco", "sighting_of_ref must be an SDO", sig, {"sighting_of_ref": IPV4["id"]},
    wrong="STIX 2.1 section 5.2: sighting_of_ref MUST reference an SDO; the validator's schema only "
          "excludes SROs, bundles, marking definitions and language content")
bad("sighting-last-before-first", "sighting last_seen >= first_seen", sig, {"last_seen": "2024-02-01T00:00:00Z"})
bad("sighting-summary-string", "summary is a boolean", sig, {"summary": "no"})
# Meta objects
stmt = MARKINGS[0]
bad("marking-statement-no-definition", "statement markings need definition", stmt, drop=["definition"])
bad("marking-no-definition-type", "marking-definition needs definition_type (or extensions)", stmt, drop=["definition_type"])
bad("marking-statement-empty-definition", "statement definitions carry statement", stmt, {"definition": {"text": "x"}})
bad("marking-tlp-wrong-colour", "the predefined TLP markings are fixed", MARKINGS[1], {"definition": {"tlp": "red"}})
bad("marking-tlp-unknown-id", "only the four predefined TLP 1.0 markings may exist", MARKINGS[1],
    {"id": uid("marking-definition", "fake-tlp")})
bad("marking-marks-itself", "a marking definition must not mark itself", stmt, {"object_marking_refs": [stmt["id"]]})
bad("marking-no-created", "marking-definition requires created", stmt, drop=["created"])
bad("marking-tlp2-purple", "tlp_2_0 is clear, green, amber, amber+strict or red", MARKINGS[2],
    {"extensions": {TLP2_EXT: {"extension_type": "property-extension", "tlp_2_0": "purple"}}},
    wrong="the TLP 2.0 extension definition's schema limits tlp_2_0 to clear, green, amber, amber+strict "
          "and red; stix2-validator does not check extension contents unless given the schema")
lc = find("language-content")
bad("language-content-no-contents", "language-content requires contents", lc, drop=["contents"])
bad("language-content-no-object-ref", "language-content requires object_ref", lc, drop=["object_ref"])
bad("language-content-bad-lang-key", "contents keys are language tags", lc, {"contents": {"german!": {"name": "x"}}})
bad("language-content-bad-prop-key", "contents values are keyed by property names", lc, {"contents": {"de": {"Name": "x"}}})
ed = find("extension-definition", "acme-score")
bad("extension-definition-no-schema", "extension-definition requires schema", ed, drop=["schema"])
bad("extension-definition-no-version", "extension-definition requires version", ed, drop=["version"])
bad("extension-definition-bad-type", "extension_types is an enumeration", ed, {"extension_types": ["new-thing"]})
bad("extension-definition-properties-not-toplevel", "extension_properties only with toplevel-property-extension", ed,
    {"extension_properties": ["x_acme_score"]})
bad("extension-definition-no-created-by", "extension-definition requires created_by_ref", ed, drop=["created_by_ref"],
    wrong="STIX 2.1 section 7.3: created_by_ref is required on an extension-definition; the validator's "
          "schema does not require it")
# SCOs
bad("artifact-payload-and-url", "artifact has payload_bin or url, not both", ARTIFACT,
    {"url": "https://example.org/a.zip", "hashes": {"SHA-256": FILE["hashes"]["SHA-256"]}})
bad("artifact-url-no-hashes", "artifact url requires hashes", ARTIFACT, {"url": "https://example.org/a.zip"}, drop=["payload_bin"])
bad("artifact-payload-not-base64", "payload_bin is base64", ARTIFACT, {"payload_bin": "not base64!"})
bad("artifact-key-without-algorithm", "decryption_key requires encryption_algorithm", ARTIFACT, {"decryption_key": "infected"})
bad("artifact-algorithm-unknown", "encryption_algorithm is an enumeration", ARTIFACT, {"encryption_algorithm": "rot13"})
asn = find("autonomous-system")
bad("as-no-number", "autonomous-system requires number", asn, drop=["number"])
bad("as-number-string", "number is an integer", asn, {"number": "AS64496"})
bad("directory-no-path", "directory requires path", DIRECTORY, drop=["path"])
bad("domain-name-no-value", "domain-name requires value", DOMAIN, drop=["value"])
bad("email-addr-no-value", "email-addr requires value", EMAIL_ADDR, drop=["value"])
em = find("email-message")
bad("email-message-no-is-multipart", "email-message requires is_multipart", em, drop=["is_multipart"])
bad("email-message-multipart-with-body", "body must be absent when is_multipart is true", em, {"is_multipart": True})
bad("email-message-from-ref-ip", "from_ref must be an email-addr", em, {"from_ref": IPV4["id"]},
    wrong="STIX 2.1 section 6.6: from_ref MUST be of type email-addr; the validator checks reference "
          "types only inside observed-data objects")
bad("file-no-hashes-no-name", "file requires hashes or name", FILE, drop=["hashes", "name"])
bad("file-md5-short", "MD5 hashes are 32 hex digits", FILE, {"hashes": {"MD5": "8b1a9953c4611296"}})
bad("file-size-negative", "size is a non-negative integer", FILE, {"size": -1})
bad("file-hashes-empty", "hashes must not be empty", FILE, {"hashes": {}})
bad("ipv4-out-of-range", "ipv4-addr value is an IPv4 address", IPV4, {"value": "300.1.1.1"})
bad("ipv4-bad-cidr", "ipv4-addr CIDR prefix is 0..32", IPV4, {"value": "198.51.100.0/33"})
bad("ipv6-bad", "ipv6-addr value is an IPv6 address", IPV6, {"value": "2001:db8::zz"})
bad("mac-uppercase", "mac-addr value is lowercase colon-delimited", MAC, {"value": "D2:FB:49:24:37:18"})
bad("mac-dashes", "mac-addr value is colon-delimited", MAC, {"value": "d2-fb-49-24-37-18"})
bad("mutex-no-name", "mutex requires name", find("mutex"), drop=["name"])
bad("network-traffic-no-protocols", "network-traffic requires protocols", NET, drop=["protocols"])
bad("network-traffic-no-endpoints", "network-traffic requires src_ref or dst_ref", NET, drop=["src_ref", "dst_ref"])
bad("network-traffic-port-70000", "ports are 0..65535", NET, {"src_port": 70000})
bad("network-traffic-active-with-end", "end must be absent when is_active is true", NET, {"is_active": True})
bad("network-traffic-end-before-start", "end >= start", NET, {"end": "2024-03-01T08:00:00Z"})
bad("process-empty", "process needs at least one property", find("process"), drop=["pid", "command_line", "image_ref"])
bad("software-no-name", "software requires name", SOFTWARE, drop=["name"])
bad("url-no-value", "url requires value", find("url"), drop=["value"])
bad("user-account-empty", "user-account needs at least one property", USER, drop=["user_id", "account_login", "account_type"])
bad("registry-key-empty", "windows-registry-key needs at least one property", find("windows-registry-key"), drop=["key", "values"])
bad("x509-empty", "x509-certificate needs at least one property", find("x509-certificate"),
    drop=["issuer", "serial_number", "validity_not_before", "validity_not_after", "subject"])
bad("sco-defanged-string", "defanged is a boolean", IPV4, {"defanged": "yes"})
bad("process-uuid-v5", "process ids are UUIDv4", find("process"),
    {"id": "process--" + str(uuid.uuid5(uuid.NAMESPACE_URL, "process"))})
bad("user-account-no-contributing-v5", "an SCO without ID-contributing properties has a UUIDv4 id", USER,
    {"id": "user-account--" + str(uuid.uuid5(uuid.NAMESPACE_URL, "ua")), "is_disabled": True},
    drop=["user_id", "account_login", "account_type"])
bad("archive-ext-no-contains-refs", "archive-ext requires contains_refs", find("file", None) if False else CUSTOM[6],
    {"extensions": {"archive-ext": {"comment": "zip"}}})
bad("http-request-ext-no-value", "http-request-ext requires request_value", CUSTOM[7],
    {"extensions": {"http-request-ext": {"request_method": "get"}}})
reg = find("windows-registry-key")
bad("registry-value-data-type-unknown", "registry value data_type is an enumeration", reg,
    {"values": [{"name": "x", "data": "1", "data_type": "REG_STRING"}]})
bad("socket-ext-address-family-unknown", "socket-ext address_family is an enumeration", CUSTOM[7],
    {"extensions": {"socket-ext": {"address_family": "AF_MARS"}}})
bad("email-multipart-part-both", "a MIME part has body or body_raw_ref, not both", em,
    {"is_multipart": True, "body_multipart": [{"body": "x", "body_raw_ref": ARTIFACT["id"]}]}, drop=["body"])
bad("toplevel-extension-with-inner-properties", "a toplevel-property-extension carries no inner properties", ind,
    {"x_acme_region": "emea",
     "extensions": {uid("extension-definition", "acme-top"): {"extension_type": "toplevel-property-extension",
                                                              "region": "emea"}}},
    wrong="STIX 2.1 section 7.3: with toplevel-property-extension the extension's properties are at the "
          "top level of the object; the validator does not inspect extension contents")
bad("extension-key-bad-uuid", "extension keys are extension-definition--UUID", ind,
    {"extensions": {"extension-definition--1234": {"extension_type": "property-extension"}}})
bad("relationship-source-language-content", "source_ref must be an SDO or SCO", rel,
    {"source_ref": uid("language-content", "lc1")})
bad("granular-lang-not-a-tag", "granular marking lang is a language tag", ind,
    {"granular_markings": [{"lang": "english!", "selectors": ["name"]}], "lang": "en"})
bad("network-traffic-src-ref-url", "src_ref is an address or domain-name", NET, {"src_ref": find("url")["id"]},
    wrong="STIX 2.1 section 6.12: src_ref MUST be ipv4-addr, ipv6-addr, mac-addr or domain-name; the "
          "validator checks reference types only inside observed-data objects")
bad("file-parent-directory-file", "parent_directory_ref is a directory", FILE, {"parent_directory_ref": ARTIFACT["id"]},
    wrong="STIX 2.1 section 6.7: parent_directory_ref MUST be of type directory; the validator checks "
          "reference types only inside observed-data objects")
bad("registry-key-abbreviated-hive", "registry key hives are spelled out in full", reg,
    {"key": "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"})
bad("url-no-scheme", "url value is an RFC 3986 URL", find("url"), {"value": "c2.example.com/gate.php"})
# 2.0 objects are checked leniently, but what is checked must hold.
bad("2.0-modified-before-created", "modified >= created (STIX 2.0 object)", CASES[-2]["object"],
    {"modified": "2016-01-01T00:00:00.000Z"}, version="2.0")
# Bundles
bundle = CASES[-1]["object"]
bad("bundle-bad-id", "bundle id is bundle--UUID", bundle, {"id": "bundle--1"}, kind="bundle")
bad("bundle-empty-objects", "bundle objects must not be an empty list", bundle, {"objects": []}, kind="bundle",
    wrong="STIX 2.1 section 3.3: empty lists are prohibited; the validator replaces the bundle schema's "
          "objects rule before validating and so never checks it")
bad("bundle-invalid-member", "every object of a bundle must be valid", bundle,
    {"objects": BUNDLE_OBJECTS + [{**ind, "confidence": 101}]}, kind="bundle")

CASES.extend(INVALID)


def validator_verdict(case):
    version = case.get("validator_version", "2.1")
    try:
        result = validate_instance(copy.deepcopy(case["object"]), ValidationOptions(version=version))
    except Exception as e:  # the validator refuses the input outright
        return {"valid": False, "errors": ["validator refused the input: %s: %s" % (type(e).__name__, e)]}
    return {"valid": bool(result.is_valid), "errors": sorted(_portable(str(e.message) if hasattr(e, "message") else str(e))
                                                            for e in result.errors)}


def _portable(message):
    """Validator messages may quote schema files by absolute path; keep only the part inside the
    package, so the record is the same on every machine."""
    return re.sub(r"file://\S*?/site-packages/", "file://<site-packages>/", message)


def main():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    CORPUS.write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    import stix2validator
    expectations = {
        "validator": "stix2-validator " + stix2validator.__version__,
        "options": "ValidationOptions(version=case.validator_version or '2.1'): errors only, warnings ignored",
        "cases": {c["name"]: validator_verdict(c) for c in CASES},
    }
    EXPECTATIONS.write_text(json.dumps(expectations, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    n_invalid = sum(1 for c in CASES if c["expect"] == "invalid")
    print("%d cases (%d invalid) written to %s" % (len(CASES), n_invalid, CORPUS))
    for c in CASES:
        got = expectations["cases"][c["name"]]["valid"]
        want = c["expect"] == "valid"
        if got != want and "validator_wrong" not in c:
            print("DISAGREE", c["name"], "validator:", got, expectations["cases"][c["name"]]["errors"][:3])
        if got == want and "validator_wrong" in c:
            print("NOT WRONG", c["name"])


if __name__ == "__main__":
    main()
