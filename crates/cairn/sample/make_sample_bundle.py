"""Builds sample-bundle.json: a small STIX 2.1 bundle about two public advisories.

Run from the repository root with the project venv:
    .venv/bin/python crates/cairn/sample/make_sample_bundle.py
The output is deterministic: ids are UUIDv5 over a fixed namespace and each object's
name, SCO ids are computed by the stix2 library, and timestamps are fixed.
Sources and what is fictitious: see README.md beside this file.
"""

import json
import pathlib
import uuid

import stix2

NS = uuid.UUID("6f1c0d2e-5a43-4c1e-9a8e-2b7f4e3d1c00")
HERE = pathlib.Path(__file__).resolve().parent

TLP_EXT = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
CLEAR, GREEN, AMBER = [TLP["clear"]], [TLP["green"]], [TLP["amber"]]

T0 = "2026-11-02T08:00:00.000Z"  # when the fictitious CERT wrote this collection
T1 = "2026-11-02T09:30:00.000Z"

TA17_132A = {
    "source_name": "US-CERT",
    "external_id": "TA17-132A",
    "description": "Alert (TA17-132A) Indicators Associated With WannaCry Ransomware, 12 May 2017, revised 19 May 2017",
    "url": "https://www.cisa.gov/news-events/alerts/2017/05/12/indicators-associated-wannacry-ransomware",
}
AA22_108A = {
    "source_name": "CISA",
    "external_id": "AA22-108A",
    "description": "Joint advisory (FBI, CISA, Treasury) TraderTraitor: North Korean State-Sponsored APT Targets Blockchain Companies, 18 April 2022",
    "url": "https://www.cisa.gov/news-events/cybersecurity-advisories/aa22-108a",
}
MS17_010 = {
    "source_name": "Microsoft",
    "external_id": "MS17-010",
    "description": "Microsoft Security Bulletin MS17-010, Security Update for Microsoft Windows SMB Server, 14 March 2017",
    "url": "https://learn.microsoft.com/en-us/security-updates/securitybulletins/2017/ms17-010",
}
SANS_ISC = {
    "source_name": "SANS Internet Storm Center",
    "description": "Handler diary 'Massive wave of ransomware ongoing', 12 May 2017 (file hashes collected on the first day)",
    "url": "https://isc.sans.edu/diary/22412",
}

objects = []


def sid(kind, name):
    # UUIDv4-shaped (SDOs/SROs SHOULD use v4) but derived from the name, so runs are reproducible.
    return f"{kind}--{uuid.UUID(bytes=uuid.uuid5(NS, kind + ':' + name).bytes, version=4)}"


def add(obj):
    objects.append(obj)
    return obj["id"]


def sdo(kind, key, created=T0, markings=CLEAR, **props):
    obj = {
        "type": kind,
        "spec_version": "2.1",
        "id": sid(kind, key),
        "created_by_ref": CERT,
        "created": created,
        "modified": created,
    }
    obj.update(props)
    obj["object_marking_refs"] = markings
    return add(obj)


def rel(source, rtype, target, description=None, markings=CLEAR, created=T0):
    obj = {
        "type": "relationship",
        "spec_version": "2.1",
        "id": sid("relationship", f"{source} {rtype} {target}"),
        "created_by_ref": CERT,
        "created": created,
        "modified": created,
        "relationship_type": rtype,
        "source_ref": source,
        "target_ref": target,
    }
    if description:
        obj["description"] = description
    obj["object_marking_refs"] = markings
    return add(obj)


# --- the TLP 2.0 marking definitions, exactly as OASIS publishes them ----------------
for level, mid in TLP.items():
    add(
        {
            "type": "marking-definition",
            "spec_version": "2.1",
            "id": mid,
            "created": "2022-10-01T00:00:00.000Z",
            "name": f"TLP:{level.upper()}",
            "extensions": {TLP_EXT: {"extension_type": "property-extension", "tlp_2_0": level}},
        }
    )

# --- identities ---------------------------------------------------------------------
CERT = sid("identity", "CERT-Aurora")
add(
    {
        "type": "identity",
        "spec_version": "2.1",
        "id": CERT,
        "created": "2026-01-05T00:00:00.000Z",
        "modified": "2026-01-05T00:00:00.000Z",
        "name": "CERT-Aurora",
        "description": "A fictitious national CERT used in Cairn's sample data. Its own observations in this bundle are marked x_cairn_fictitious.",
        "identity_class": "organization",
        "sectors": ["government-national"],
        "contact_information": "hotline@cert-aurora.example",
        "object_marking_refs": CLEAR,
    }
)
HEALTH = sdo("identity", "healthcare", name="Healthcare sector", identity_class="class", sectors=["healthcare"])
TELCO = sdo("identity", "telecommunications", name="Telecommunications sector", identity_class="class", sectors=["telecommunications"])
CRYPTO = sdo(
    "identity",
    "blockchain",
    name="Blockchain and cryptocurrency organizations",
    description="Cryptocurrency exchanges, decentralized finance protocols, play-to-earn games, venture funds investing in cryptocurrency, and holders of large amounts of cryptocurrency or NFTs (AA22-108A).",
    identity_class="class",
    sectors=["financial-services"],
)

# --- vulnerability, tool, malware -----------------------------------------------------
CVE = sdo(
    "vulnerability",
    "CVE-2017-0144",
    name="CVE-2017-0144",
    description="Remote code execution in the Microsoft SMBv1 server (Windows SMB Remote Code Execution Vulnerability), fixed by MS17-010; exploited by EternalBlue.",
    external_references=[
        {"source_name": "cve", "external_id": "CVE-2017-0144", "url": "https://nvd.nist.gov/vuln/detail/CVE-2017-0144"},
        MS17_010,
    ],
)
ETERNALBLUE = sdo(
    "tool",
    "EternalBlue",
    name="EternalBlue",
    description="Exploit for the SMBv1 vulnerability fixed by MS17-010, leaked by the Shadow Brokers in April 2017 and used by WannaCry to propagate.",
    tool_types=["exploitation"],
    external_references=[TA17_132A],
)
DOUBLEPULSAR = sdo(
    "malware",
    "DoublePulsar",
    name="DoublePulsar",
    description="Kernel-mode backdoor implant installed through EternalBlue; WannaCry checks for it and uses it to run its payload on SMB peers.",
    malware_types=["backdoor"],
    is_family=True,
    external_references=[TA17_132A],
)
WANNACRY = sdo(
    "malware",
    "WannaCry",
    name="WannaCry",
    description=(
        "Ransomware worm first reported on 12 May 2017. It spreads by exploiting SMBv1 (MS17-010), encrypts files "
        "and appends the .WNCRY extension, demands a ransom in bitcoin (.1781 BTC, about US$300, per TA17-132A) and "
        "talks to its C2 over Tor. Before spreading it requests a hard-coded kill-switch domain and stops if it answers."
    ),
    malware_types=["ransomware", "worm"],
    is_family=True,
    aliases=["WCry", "WanaCrypt0r", "Wanna Decryptor"],
    first_seen="2017-05-12T00:00:00.000Z",
    implementation_languages=["c++"],
    capabilities=["communicates-with-c2"],
    external_references=[
        TA17_132A,
        {"source_name": "mitre-attack", "external_id": "S0366", "url": "https://attack.mitre.org/software/S0366/"},
    ],
    x_cairn_ransom_bitcoin_addresses=[
        "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn",
        "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw",
        "13AM4VW2dhxYgXeQepoHkHSQuy6NgaEb94",
    ],
    x_cairn_encrypted_file_extension=".WNCRY",
)
TRADERTRAITOR = sdo(
    "malware",
    "TraderTraitor",
    name="TraderTraitor",
    description=(
        "Trojanized cryptocurrency trading and price-prediction applications written with Electron (cross-platform JavaScript), "
        "offered to employees of blockchain companies in spearphishing messages, often as recruitment offers. AA22-108A names "
        "DAFOM, TokenAIS, CryptAIS, AlticGO, Esilet and CreAI Deck."
    ),
    malware_types=["trojan"],
    is_family=True,
    implementation_languages=["javascript"],
    external_references=[AA22_108A],
)
APPLEJEUS = sdo(
    "malware",
    "AppleJeus",
    name="AppleJeus",
    description="Trojanized cryptocurrency applications used by Lazarus Group since 2018; AA22-108A relates TraderTraitor to this earlier activity (see also AA21-048A).",
    malware_types=["trojan", "downloader"],
    is_family=True,
    external_references=[
        AA22_108A,
        {"source_name": "mitre-attack", "external_id": "S0584", "url": "https://attack.mitre.org/software/S0584/"},
    ],
)
MANUSCRYPT = sdo(
    "malware",
    "Manuscrypt",
    name="Manuscrypt",
    description="Remote access trojan that TraderTraitor applications delivered as their macOS payload.",
    malware_types=["remote-access-trojan"],
    is_family=True,
    external_references=[AA22_108A],
)

# --- actors and campaigns -------------------------------------------------------------
DPRK = sdo(
    "threat-actor",
    "DPRK state-sponsored cyber actors",
    name="North Korean state-sponsored cyber actors",
    description="Cyber actors sponsored by the Democratic People's Republic of Korea, as named by the US government.",
    threat_actor_types=["nation-state"],
    sophistication="advanced",
    resource_level="government",
    primary_motivation="personal-gain",
    external_references=[AA22_108A],
)
LAZARUS = sdo(
    "intrusion-set",
    "Lazarus Group",
    name="Lazarus Group",
    description="North Korean state-sponsored cyber threat group. The US and UK governments attributed WannaCry to North Korea in December 2017; AA22-108A attributes TraderTraitor to the Lazarus Group.",
    aliases=["HIDDEN COBRA", "Guardians of Peace", "ZINC"],
    primary_motivation="organizational-gain",
    external_references=[
        {"source_name": "mitre-attack", "external_id": "G0032", "url": "https://attack.mitre.org/groups/G0032/"},
        AA22_108A,
    ],
)
APT38 = sdo(
    "intrusion-set",
    "APT38",
    name="APT38",
    description="North Korean group focused on financial institutions and cryptocurrency; AA22-108A lists it, with BlueNoroff and Stardust Chollima, among the names of the actors behind TraderTraitor.",
    aliases=["BlueNoroff", "Stardust Chollima"],
    primary_motivation="personal-gain",
    goals=["theft of cryptocurrency"],
    external_references=[
        {"source_name": "mitre-attack", "external_id": "G0082", "url": "https://attack.mitre.org/groups/G0082/"},
        AA22_108A,
    ],
)
CAMP_WC = sdo(
    "campaign",
    "WannaCry outbreak May 2017",
    name="WannaCry outbreak, May 2017",
    description="Worldwide WannaCry infections that began around 04:00 EDT on 12 May 2017, with reports from over 150 countries (TA17-132A).",
    first_seen="2017-05-12T08:00:00.000Z",
    objective="Extort ransom payments in bitcoin",
    external_references=[TA17_132A],
)
CAMP_TT = sdo(
    "campaign",
    "TraderTraitor",
    name="TraderTraitor intrusions against blockchain companies",
    description="Spearphishing of employees of cryptocurrency organizations with trojanized applications, observed since at least 2020 (AA22-108A).",
    first_seen="2020-01-01T00:00:00.000Z",
    objective="Steal cryptocurrency and private keys",
    external_references=[AA22_108A],
)

# --- ATT&CK techniques ------------------------------------------------------------------
def technique(tid, name, tactic, description):
    url = "https://attack.mitre.org/techniques/" + tid.replace(".", "/") + "/"
    return sdo(
        "attack-pattern",
        tid,
        name=name,
        description=description,
        kill_chain_phases=[{"kill_chain_name": "mitre-attack", "phase_name": tactic}],
        external_references=[{"source_name": "mitre-attack", "external_id": tid, "url": url}],
    )


T1210 = technique("T1210", "Exploitation of Remote Services", "lateral-movement", "WannaCry exploits SMBv1 (EternalBlue) on TCP 445 to reach other hosts.")
T1486 = technique("T1486", "Data Encrypted for Impact", "impact", "WannaCry encrypts user files and renames them with the .WNCRY extension.")
T1490 = technique("T1490", "Inhibit System Recovery", "impact", "WannaCry deletes volume shadow copies.")
T1090 = technique("T1090.003", "Proxy: Multi-hop Proxy", "command-and-control", "WannaCry reaches its C2 servers through Tor.")
T1566_1 = technique("T1566.001", "Phishing: Spearphishing Attachment", "initial-access", "TraderTraitor lures carry trojanized applications.")
T1566_2 = technique("T1566.002", "Phishing: Spearphishing Link", "initial-access", "TraderTraitor lures link to download sites for trojanized applications.")
T1204 = technique("T1204.002", "User Execution: Malicious File", "execution", "The victim installs and runs the trojanized cryptocurrency application.")
T1552 = technique("T1552.004", "Unsecured Credentials: Private Keys", "credential-access", "TraderTraitor actors seek private keys to move cryptocurrency.")
T1071 = technique("T1071.001", "Application Layer Protocol: Web Protocols", "command-and-control", "TraderTraitor applications download payloads over HTTP(S).")

# --- courses of action -----------------------------------------------------------------
COA_PATCH = sdo("course-of-action", "Apply MS17-010", name="Apply MS17-010", description="Install the Microsoft security update for MS17-010 (14 March 2017).", external_references=[MS17_010, TA17_132A])
COA_SMB1 = sdo("course-of-action", "Disable SMBv1", name="Disable SMBv1", description="Disable SMBv1 where the update cannot be applied, and block TCP 445 and UDP 137-138 / TCP 139 at the network boundary.", external_references=[TA17_132A])
COA_APPS = sdo("course-of-action", "Verify cryptocurrency applications", name="Install cryptocurrency software only from trusted sources", description="Train staff on social engineering, allow-list applications, and keep private keys offline (AA22-108A mitigations).", external_references=[AA22_108A])

# --- indicators -------------------------------------------------------------------------
def indicator(title, pattern, description, types, valid_from="2017-05-12T00:00:00.000Z", markings=CLEAR, refs=None, **extra):
    return sdo(
        "indicator",
        title,
        markings=markings,
        name=title,
        description=description,
        indicator_types=types,
        pattern=pattern,
        pattern_type="stix",
        pattern_version="2.1",
        valid_from=valid_from,
        external_references=refs or [TA17_132A],
        **extra,
    )


KILL_SWITCH = "iuqerfsodp9ifjaposdfjhgosurijfaewrwergwea.com"
I_KS_DOMAIN = indicator(
    "WannaCry kill-switch domain",
    f"[domain-name:value = '{KILL_SWITCH}']",
    "Domain requested by WannaCry before it spreads; it has been sinkholed, so a lookup means an infected host.",
    ["malicious-activity"],
)
I_KS_URL = indicator(
    "WannaCry kill-switch URL",
    f"[url:value = 'http://www.{KILL_SWITCH}']",
    "HTTP request made by the WannaCry worm component at start-up.",
    ["malicious-activity"],
)
I_ENCRYPTOR = indicator(
    "WannaCry encryptor (tasksche.exe)",
    "[file:hashes.'SHA-256' = 'ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa'] OR "
    "[file:hashes.MD5 = '84c82835a5d21bbcf75a61706d8ab549']",
    "Ransomware component dropped as tasksche.exe.",
    ["malicious-activity"],
)
I_DROPPER = indicator(
    "WannaCry worm and dropper (mssecsvc.exe)",
    "[file:hashes.MD5 = 'db349b97c37d22f5ea1d1841e3c89eb4']",
    "Worm component that exploits SMBv1, installs the mssecsvc2.0 service and drops tasksche.exe.",
    ["malicious-activity"],
)
I_SANS = indicator(
    "WannaCry samples, first day",
    "[file:hashes.'SHA-256' = '09a46b3e1be080745a6d8d88d6b5bd351b1c7586ae0dc94d0c238ee36421cafa'] OR "
    "[file:hashes.'SHA-256' = '24d004a104d4d54034dbcffc2a4b19a11f39008a575aa614ea04703480b1022c'] OR "
    "[file:hashes.'SHA-256' = '2584e1521065e45ec3c17767c065429038fc6291c091097ea8b22c8a502c41dd'] OR "
    "[file:hashes.'SHA-256' = '2ca2d550e603d74dedda03156023135b38da3630cb014e3d00b1263358c5f00d'] OR "
    "[file:hashes.'SHA-256' = '4a468603fdcb7a2eb5770705898cf9ef37aade532a7964642ecd705a74794b79']",
    "WannaCry sample hashes published on 12 May 2017.",
    ["malicious-activity"],
    refs=[SANS_ISC],
)
ONIONS = ["gx7ekbenv2riucmf.onion", "57g7spgrzlojinas.onion", "xxlvbrloxvriy2c5.onion", "76jdd2ir2embyv47.onion", "cwwnhwhlz52maqm7.onion"]
I_TOR = indicator(
    "WannaCry Tor C2",
    " OR ".join(f"[domain-name:value = '{o}']" for o in ONIONS),
    "Onion addresses of the WannaCry C2 servers, configured in its c.wnry file.",
    ["malicious-activity"],
)
I_NOTE = indicator(
    "WannaCry decryptor and encrypted files",
    "[file:name = '@WanaDecryptor@.exe'] OR [file:name LIKE '%.WNCRY']",
    "The ransom note program and files renamed by the encryptor.",
    ["malicious-activity"],
)
I_SMB = indicator(
    "SMBv1 exploitation source seen by CERT-Aurora",
    "[ipv4-addr:value = '203.0.113.45'] AND [network-traffic:dst_port = 445 AND network-traffic:protocols[*] = 'tcp']",
    "CERT-Aurora sensor observation (fictitious, documentation address range): a host scanning TCP 445 with EternalBlue after the outbreak.",
    ["malicious-activity", "compromised"],
    valid_from="2026-10-28T00:00:00.000Z",
    markings=GREEN,
    refs=[TA17_132A],
    x_cairn_fictitious=True,
)
I_TT_DOMAIN = indicator(
    "TraderTraitor download site seen by CERT-Aurora",
    "[domain-name:value = 'dafom-app.example'] OR [url:value = 'https://dafom-app.example/download/DAFOM-2.1.dmg']",
    "CERT-Aurora observation (fictitious, reserved .example domain): a site offering a trojanized DAFOM build to an exchange employee.",
    ["malicious-activity"],
    valid_from="2026-10-30T00:00:00.000Z",
    markings=GREEN,
    refs=[AA22_108A],
    x_cairn_fictitious=True,
)
I_TT_IP = indicator(
    "TraderTraitor payload server seen by CERT-Aurora",
    "[ipv4-addr:value = '198.51.100.23']",
    "CERT-Aurora observation (fictitious, documentation address range): address the trojanized application fetched its payload from.",
    ["malicious-activity"],
    valid_from="2026-10-30T00:00:00.000Z",
    markings=GREEN,
    refs=[AA22_108A],
    x_cairn_fictitious=True,
)

# --- observations: SCOs with deterministic ids, observed-data, sighting -------------------
sco_domain = json.loads(stix2.DomainName(value=KILL_SWITCH).serialize())
sco_ip = json.loads(stix2.IPv4Address(value="203.0.113.45").serialize())
sco_file = json.loads(
    stix2.File(
        name="tasksche.exe",
        hashes={"SHA-256": "ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa", "MD5": "84c82835a5d21bbcf75a61706d8ab549"},
    ).serialize()
)
for sco in (sco_domain, sco_ip, sco_file):
    sco["object_marking_refs"] = GREEN
    add(sco)
OBS = sdo(
    "observed-data",
    "CERT-Aurora hospital observation",
    created="2026-10-28T12:00:00.000Z",
    markings=GREEN,
    first_observed="2026-10-28T06:14:00.000Z",
    last_observed="2026-10-28T07:02:00.000Z",
    number_observed=3,
    object_refs=[sco_domain["id"], sco_ip["id"], sco_file["id"]],
    x_cairn_fictitious=True,
)
SIGHTING = sdo(
    "sighting",
    "kill-switch lookups at a hospital",
    created="2026-10-28T12:05:00.000Z",
    markings=AMBER,
    description="Fictitious: a partner hospital's resolver logged lookups of the kill-switch domain from three workstations.",
    first_seen="2026-10-28T06:14:00.000Z",
    last_seen="2026-10-28T07:02:00.000Z",
    count=3,
    sighting_of_ref=I_KS_DOMAIN,
    observed_data_refs=[OBS],
    where_sighted_refs=[CERT],
    x_cairn_fictitious=True,
)

# --- relationships ------------------------------------------------------------------------
for ind in (I_KS_DOMAIN, I_KS_URL, I_ENCRYPTOR, I_DROPPER, I_SANS, I_TOR, I_NOTE, I_SMB):
    rel(ind, "indicates", WANNACRY, markings=GREEN if ind == I_SMB else CLEAR)
for ind in (I_TT_DOMAIN, I_TT_IP):
    rel(ind, "indicates", TRADERTRAITOR, markings=GREEN)
rel(I_TT_DOMAIN, "indicates", CAMP_TT, markings=GREEN)
for tech in (T1210, T1486, T1490, T1090):
    rel(WANNACRY, "uses", tech)
rel(WANNACRY, "uses", ETERNALBLUE, "WannaCry spreads with the EternalBlue SMBv1 exploit.")
rel(WANNACRY, "uses", DOUBLEPULSAR, "WannaCry uses an existing or newly installed DoublePulsar implant to run its payload.")
rel(WANNACRY, "exploits", CVE)
rel(ETERNALBLUE, "targets", CVE)
rel(WANNACRY, "targets", HEALTH, "Hospitals were among the organizations hit in May 2017.")
rel(WANNACRY, "targets", TELCO)
rel(TRADERTRAITOR, "drops", MANUSCRYPT)
rel(TRADERTRAITOR, "targets", CRYPTO)
for tech in (T1566_1, T1566_2, T1204, T1552, T1071):
    rel(CAMP_TT, "uses", tech)
rel(CAMP_TT, "uses", TRADERTRAITOR)
rel(CAMP_TT, "targets", CRYPTO)
rel(CAMP_TT, "attributed-to", LAZARUS)
rel(CAMP_TT, "attributed-to", APT38)
rel(CAMP_WC, "uses", WANNACRY)
rel(CAMP_WC, "attributed-to", LAZARUS, "Public attribution by the US and UK governments, December 2017.")
rel(LAZARUS, "uses", WANNACRY)
rel(LAZARUS, "uses", APPLEJEUS)
rel(APT38, "uses", TRADERTRAITOR)
rel(LAZARUS, "attributed-to", DPRK)
rel(APT38, "attributed-to", DPRK)
rel(COA_PATCH, "mitigates", CVE)
rel(COA_SMB1, "mitigates", T1210)
rel(COA_APPS, "mitigates", T1204)

# --- note and report -------------------------------------------------------------------------
NOTE = sdo(
    "note",
    "analyst note on attribution",
    created=T1,
    markings=GREEN,
    abstract="Attribution confidence",
    content="Both public attributions rest on government statements; CERT-Aurora has no independent evidence and records its own confidence as moderate.",
    authors=["CERT-Aurora duty analyst"],
    object_refs=[CAMP_WC, CAMP_TT],
)
refs = [o["id"] for o in objects if o["type"] != "marking-definition" and o["id"] != CERT]
REPORT = {
    "type": "report",
    "spec_version": "2.1",
    "id": sid("report", "CERT-Aurora sample collection"),
    "created_by_ref": CERT,
    "created": T1,
    "modified": T1,
    "name": "Ransomware worm and cryptocurrency-exchange intrusions: what partners should block",
    "description": (
        "CERT-Aurora digest of two public US government advisories (TA17-132A on WannaCry, AA22-108A on TraderTraitor) "
        "with the CERT's own, fictitious, sensor observations. Handling note for partners: the sighting section is TLP:AMBER."
    ),
    "report_types": ["threat-report", "malware", "threat-actor"],
    "published": T1,
    "object_refs": refs,
    "external_references": [TA17_132A, AA22_108A],
    "object_marking_refs": GREEN,
    "granular_markings": [{"marking_ref": TLP["amber"], "selectors": ["description"]}],
    "x_cairn_priority": "high",
}
add(REPORT)

bundle = {"type": "bundle", "id": sid("bundle", "CERT-Aurora sample"), "objects": objects}
(HERE / "sample-bundle.json").write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n")
print(f"{len(objects)} objects")
