"""Record the deterministic SCO identifiers the `stix2` library generates.

Usage (from the repository root):
    .venv/bin/python tests/python/gen_sco_ids.py

Writes crates/cairn-stix/tests/fixtures/sco_ids.json: [{"name", "object", "id"}], where "id" is
the UUIDv5 identifier stix2 derives from the object's ID-contributing properties, or null when
stix2 falls back to a random UUIDv4 (process objects, or no ID-contributing property present).
"""

import json
import pathlib
import uuid

import stix2

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "crates" / "cairn-stix" / "tests" / "fixtures" / "sco_ids.json"

SHA256 = "ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa"
MD5 = "db349b97c37d22f5ea1d1841e3c89eb4"
DIR_ID = "directory--93c0a9b0-520d-545d-9094-1a08ddf46b05"
EMAIL_ID = "email-addr--2d77a846-6264-5d51-b586-e43822ea1ea3"
IP4_ID = "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd"
IP6_ID = "ipv6-addr--1e61d36c-a16c-53b7-a80f-2a00161c96b1"

CASES = [
    ("artifact-md5-preferred", {"type": "artifact", "url": "https://example.org/a.bin",
                                "hashes": {"SHA-256": SHA256, "MD5": MD5}}),
    ("artifact-payload", {"type": "artifact", "payload_bin": "VGhpcyBpcyBhIHRlc3Q=", "mime_type": "text/plain"}),
    ("artifact-sha512-only", {"type": "artifact", "url": "https://example.org/b.bin",
                              "hashes": {"SHA-512": "a" * 128}}),
    ("artifact-custom-hash-first", {"type": "artifact", "url": "https://example.org/c.bin",
                                    "hashes": {"SHA3-256": "b" * 64, "TLSH": "c" * 70}}),
    ("autonomous-system", {"type": "autonomous-system", "number": 15139, "name": "Example"}),
    ("directory", {"type": "directory", "path": "C:\\Windows\\System32"}),
    ("domain-name", {"type": "domain-name", "value": "example.com"}),
    ("domain-name-idn", {"type": "domain-name", "value": "bücher.example"}),
    ("email-addr", {"type": "email-addr", "value": "john@example.com", "display_name": "John Doe"}),
    ("email-message", {"type": "email-message", "is_multipart": False, "from_ref": EMAIL_ID,
                       "subject": "Saying Hello", "body": "Hi \"friend\"\n\tbye"}),
    ("email-message-subject-only", {"type": "email-message", "is_multipart": True, "subject": "Only subject"}),
    ("file-hashes-name", {"type": "file", "hashes": {"SHA-256": SHA256, "SHA-1": "c" * 40}, "name": "mssecsvc.exe"}),
    ("file-name-parent", {"type": "file", "name": "résumé.pdf", "parent_directory_ref": DIR_ID}),
    ("file-extension", {"type": "file", "name": "a.exe",
                        "extensions": {"ntfs-ext": {"sid": "S-1-5-18",
                                                    "alternate_data_streams": [{"name": "second.stream", "size": 25536}]}}}),
    ("ipv4-addr", {"type": "ipv4-addr", "value": "198.51.100.3"}),
    ("ipv4-cidr", {"type": "ipv4-addr", "value": "203.0.113.0/24"}),
    ("ipv6-addr", {"type": "ipv6-addr", "value": "2001:0db8:85a3:0000:0000:8a2e:0370:7334"}),
    ("mac-addr", {"type": "mac-addr", "value": "d2:fb:49:24:37:18"}),
    ("mutex", {"type": "mutex", "name": "__CLEANSWEEP__"}),
    ("network-traffic", {"type": "network-traffic", "src_ref": IP4_ID, "dst_ref": IP6_ID,
                         "src_port": 2487, "dst_port": 1723, "protocols": ["ipv4", "pptp"]}),
    ("network-traffic-start", {"type": "network-traffic", "dst_ref": IP4_ID, "protocols": ["tcp"],
                               "start": "2024-03-01T09:00:00Z"}),
    ("network-traffic-zero-fraction", {"type": "network-traffic", "dst_ref": IP4_ID, "protocols": ["tcp"],
                                       "start": "2024-03-01T09:00:00.000Z", "end": "2024-03-01T09:00:01.120Z",
                                       "is_active": False}),
    ("file-hash-name-spelling", {"type": "file", "hashes": {"sha256": SHA256, "sha-1": "d" * 40}}),
    ("file-hash-uppercase-value", {"type": "file", "hashes": {"SHA-256": SHA256.upper()}}),
    ("process", {"type": "process", "pid": 1221, "command_line": "./gedit-bin --new-window"}),
    ("software", {"type": "software", "name": "Word", "cpe": "cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*",
                  "version": "2002", "vendor": "Microsoft"}),
    ("url", {"type": "url", "value": "https://example.com/research/index.html?q=a&b=ü"}),
    ("user-account", {"type": "user-account", "user_id": "1001", "account_login": "jdoe",
                      "account_type": "unix", "display_name": "John Doe"}),
    ("user-account-no-contributing", {"type": "user-account", "is_disabled": True}),
    ("windows-registry-key", {"type": "windows-registry-key",
                              "key": "HKEY_LOCAL_MACHINE\\System\\Foo\\Bar",
                              "values": [{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}]}),
    ("x509-certificate", {"type": "x509-certificate", "serial_number": "36:f7:d4:32:f4:ab:70:ea",
                          "hashes": {"SHA-256": SHA256}, "issuer": "C=ZA, O=Thawte"}),
    ("x509-certificate-no-contributing", {"type": "x509-certificate", "subject": "CN=example.com"}),
]


def stix2_id(obj):
    """The id stix2 generates, or None when it is a random UUIDv4."""
    parsed = stix2.parse(dict(obj), allow_custom=True, version="2.1")
    ident = parsed["id"]
    if uuid.UUID(ident.split("--", 1)[1]).version == 4:
        return None
    return ident


def records():
    return [{"name": n, "object": o, "id": stix2_id(o)} for n, o in CASES]


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(records(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
