//! Every release tree under `tests/fixtures/` (written from what each release ships) and what
//! `pf::detect_in` must say about it.

use std::path::PathBuf;

use pf::System;

struct Case {
    root: &'static str,
    dist: &'static str,
    id: &'static str,
    version: &'static str,
    codename: Option<&'static str>,
    like: &'static [&'static str],
}

const fn c(
    root: &'static str,
    dist: &'static str,
    id: &'static str,
    version: &'static str,
    codename: Option<&'static str>,
    like: &'static [&'static str],
) -> Case {
    Case {
        root,
        dist,
        id,
        version,
        codename,
        like,
    }
}

const EL: &[&str] = &["rhel", "fedora"];
const CLONE: &[&str] = &["rhel", "centos", "fedora"];
const FED: &[&str] = &["fedora"];
const DEB: &[&str] = &["debian"];
const UBU: &[&str] = &["ubuntu", "debian"];
const SUSE: &[&str] = &["suse"];
const NONE: &[&str] = &[];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Red Hat and its rebuilds, with and without os-release.
    c("centos5", "CentOS", "centos", "5.11", Some("Final"), EL),
    c("centos6", "CentOS", "centos", "6.10", Some("Final"), EL),
    c("centos7", "CentOS", "centos", "7.9.2009", Some("Core"), EL),
    c("centos8", "CentOS", "centos", "8.5.2111", None, EL),
    c("centos-stream9", "CentOS", "centos", "9", None, EL),
    c("centos-stream10", "CentOS", "centos", "10", Some("Coughlan"), EL),
    c("rhel5", "RedHat", "rhel", "5.11", Some("Tikanga"), FED),
    c("rhel6", "RedHat", "rhel", "6.10", Some("Santiago"), FED),
    c("rhel7", "RedHat", "rhel", "7.9", Some("Maipo"), FED),
    c("rhel8", "RedHat", "rhel", "8.10", Some("Ootpa"), FED),
    c("rhel9", "RedHat", "rhel", "9.4", Some("Plow"), FED),
    c("oracle5", "Oracle", "oracle", "5.11", Some("Carthage"), EL),
    c("oracle6", "Oracle", "oracle", "6.10", None, EL),
    c("oracle7", "Oracle", "oracle", "7.9", None, FED),
    c("oracle8", "Oracle", "oracle", "8.10", None, FED),
    c("oracle9", "Oracle", "oracle", "9.4", None, FED),
    c("amazon-ami2014", "Amazon", "amzn", "2014.09", None, FED),
    c("amazon-ami2018", "Amazon", "amzn", "2018.03", None, EL),
    c("amazon2", "Amazon", "amzn", "2", Some("Karoo"), &["centos", "rhel", "fedora"]),
    c("amazon2023", "Amazon", "amzn", "2023.5.20240624", None, FED),
    c("fedora17", "Fedora", "fedora", "17", Some("Beefy Miracle"), NONE),
    c("fedora39", "Fedora", "fedora", "39", None, NONE),
    c("rocky8", "Rocky", "rocky", "8.9", Some("Green Obsidian"), CLONE),
    c("rocky9", "Rocky", "rocky", "9.4", Some("Blue Onyx"), CLONE),
    c("almalinux8", "AlmaLinux", "almalinux", "8.9", Some("Midnight Oncilla"), CLONE),
    c("almalinux9", "AlmaLinux", "almalinux", "9.4", Some("Seafoam Ocelot"), CLONE),
    c("scientific6", "Scientific", "scientific", "6.10", Some("Carbon"), EL),
    c("scientific7", "Scientific", "scientific", "7.9", Some("Nitrogen"), CLONE),
    c("scientific72", "Scientific", "scientific", "7.2", Some("Nitrogen"), EL),
    c("cloudlinux6", "CloudLinux", "cloudlinux", "6.10", Some("Vladislav Volkov"), CLONE),
    c("cloudlinux8", "CloudLinux", "cloudlinux", "8.9", Some("Leonid Kadenyuk"), &["rhel", "fedora", "centos"]),
    // Debian and Ubuntu: Ubuntu is never Debian.
    c("debian6", "Debian", "debian", "6.0.10", Some("squeeze"), NONE),
    c("debian7", "Debian", "debian", "7.11", Some("wheezy"), NONE),
    c("debian8", "Debian", "debian", "8.11", Some("jessie"), NONE),
    c("debian9", "Debian", "debian", "9.13", Some("stretch"), NONE),
    c("debian10", "Debian", "debian", "10.13", Some("buster"), NONE),
    c("debian11", "Debian", "debian", "11.9", Some("bullseye"), NONE),
    c("debian12", "Debian", "debian", "12.11", Some("bookworm"), NONE),
    c("debian13", "Debian", "debian", "13.1", Some("trixie"), NONE),
    c("debian-testing", "Debian", "debian", "trixie/sid", Some("trixie"), NONE),
    c("ubuntu1204", "Ubuntu", "ubuntu", "12.04.5", Some("Precise Pangolin"), DEB),
    c("ubuntu1404", "Ubuntu", "ubuntu", "14.04.6", Some("Trusty Tahr"), DEB),
    c("ubuntu1604", "Ubuntu", "ubuntu", "16.04.7", Some("xenial"), DEB),
    c("ubuntu1804", "Ubuntu", "ubuntu", "18.04.6", Some("bionic"), DEB),
    c("ubuntu2004", "Ubuntu", "ubuntu", "20.04.6", Some("focal"), DEB),
    c("ubuntu2204", "Ubuntu", "ubuntu", "22.04.3", Some("jammy"), DEB),
    c("ubuntu2404", "Ubuntu", "ubuntu", "24.04.1", Some("noble"), DEB),
    c("mint17", "Mint", "linuxmint", "17.3", Some("rosa"), UBU),
    c("mint21", "Mint", "linuxmint", "21.3", Some("virginia"), UBU),
    c("raspbian10", "Raspbian", "raspbian", "10.13", Some("buster"), DEB),
    c("kali", "Kali", "kali", "2024.1", Some("kali-rolling"), DEB),
    c("armbian", "Armbian", "armbian", "24.2.1", Some("bookworm"), DEB),
    // SUSE: SuSE-release only up to 11, the service pack is the minor version.
    c("sles10", "SUSE", "sles", "10.4", None, SUSE),
    c("sles11", "SUSE", "sles", "11.4", None, SUSE),
    c("sled11", "SUSE", "sled", "11.3", None, SUSE),
    c("sles12", "SUSE", "sles", "12.5", None, SUSE),
    c("sles15", "SUSE", "sles", "15.5", None, SUSE),
    c("opensuse132", "openSUSE", "opensuse", "13.2", Some("Harlequin"), SUSE),
    c("opensuse-leap42", "openSUSE", "opensuse", "42.3", Some("Malachite"), SUSE),
    c("opensuse-leap15", "openSUSE", "opensuse", "15.5", None, &["suse", "opensuse"]),
    c("opensuse-tumbleweed", "openSUSE", "opensuse-tumbleweed", "20240601", None, &["opensuse", "suse"]),
    // Others.
    c("alpine318", "Alpine", "alpine", "3.18.4", None, NONE),
    c("alpine32", "Alpine", "alpine", "3.2.3", None, NONE),
    c("arch", "Arch", "arch", "", None, NONE),
    c("arch-old", "Arch", "arch", "", None, NONE),
    c("manjaro", "Manjaro", "manjaro", "23.1.3", Some("Vulcan"), &["arch"]),
    c("gentoo", "Gentoo", "gentoo", "2.15", None, NONE),
    c("slackware13", "Slackware", "slackware", "13.37.0", None, NONE),
    c("slackware15", "Slackware", "slackware", "15.0", Some("stable"), NONE),
    c("mageia9", "Mageia", "mageia", "9", Some("mageia9"), &["mandriva", "fedora"]),
    // Not in the table: named by their own files.
    c("nimbus-unknown", "Nimbus OS", "nimbus", "4.2.1", Some("Cirrus"), EL),
    c("unknown-release-only", "Foo Linux", "foo", "1.2.3", Some("Bar"), NONE),
    // Binary and garbage files do not hide the good one.
    c("garbage", "CentOS", "centos", "6.9", Some("Final"), EL),
];

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn every_fixture_is_identified() {
    let mut failures = Vec::new();
    for case in CASES {
        let p = pf::detect_in(&fixture(case.root));
        let got = (
            p.dist(),
            p.id(),
            p.version(),
            p.codename(),
            p.like().to_vec(),
        );
        let want = (
            case.dist,
            case.id,
            case.version,
            case.codename,
            case.like.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        );
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.root));
        }
        if p.system() != System::Linux {
            failures.push(format!("{}: system {}", case.root, p.system()));
        }
        if p.pretty_name().is_empty() || p.pretty_name() == "Unknown" {
            failures.push(format!("{}: pretty name {:?}", case.root, p.pretty_name()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn at_least_forty_releases_and_all_listed() -> std::io::Result<()> {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture(""))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.root.to_string()).collect();
    listed.push("empty".into());
    listed.sort();
    assert_eq!(on_disk, listed, "every fixture has a line in CASES");
    assert!(CASES.len() >= 40);
    Ok(())
}

#[test]
fn empty_root_is_unknown() {
    let p = pf::detect_in(&fixture("empty"));
    assert_eq!(
        (p.system(), p.dist(), p.id(), p.version()),
        (System::Unknown, "Unknown", "unknown", "")
    );
    assert_eq!(p.codename(), None);
    let p = pf::detect_in(&fixture("does-not-exist"));
    assert_eq!(p.dist(), "Unknown");
}

#[test]
fn codename_is_never_an_architecture() {
    for case in CASES {
        if let Some(c) = pf::detect_in(&fixture(case.root)).codename() {
            assert!(!pf::rules::linux::is_architecture(c), "{}: {c}", case.root);
        }
    }
}

#[test]
fn json_has_exactly_the_documented_keys() -> Result<(), serde_json::Error> {
    let p = pf::detect_in(&fixture("centos7"));
    let v = serde_json::to_value(&p)?;
    let mut keys: Vec<&str> = v
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    keys.sort_unstable();
    let mut want = [
        "system",
        "dist",
        "id",
        "version",
        "codename",
        "like",
        "pretty_name",
        "kernel",
        "arch",
        "bits",
        "process_bits",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(v["system"], "Linux");
    assert_eq!(v["codename"], "Core");
    let none = serde_json::to_value(pf::detect_in(&fixture("centos8")))?;
    assert!(none["codename"].is_null());
    Ok(())
}

#[test]
fn display_and_label() {
    let p = pf::detect_in(&fixture("ubuntu2204"));
    let shown = p.to_string();
    assert!(
        shown.starts_with("Ubuntu 22.04.3 LTS [ubuntu 22.04.3] Linux "),
        "{shown}"
    );
    assert!(p.label().starts_with("linux-"));
    assert!(p.is_linux() && p.is_unix() && !p.is_windows());
    assert!(p.is_like("debian") && p.is_like("ubuntu") && !p.is_like("rhel"));
    assert_eq!(p.major_version(), Some(22));
}
