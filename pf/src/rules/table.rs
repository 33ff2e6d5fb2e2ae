//! The one table of Linux distributions: id, the name people use, the parents, and the names
//! their release files print.
//!
//! Supporting one more distribution is one row here, one fixture and one test line.

/// One row of the distribution table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DistroRow {
    /// python-distro id (`distro.id()`), the key.
    pub id: &'static str,
    /// The name people use: `Platform::dist()`.
    pub name: &'static str,
    /// The parents, nearest first, used as `like` when the release files give no `ID_LIKE`.
    pub like: &'static [&'static str],
    /// Lowercase prefixes of the names this distribution prints in `NAME=`, `DISTRIB_ID=` or its
    /// release file ("Red Hat Enterprise Linux Server release 6.5" starts with
    /// "red hat enterprise linux").
    pub names: &'static [&'static str],
}

const fn row(
    id: &'static str,
    name: &'static str,
    like: &'static [&'static str],
    names: &'static [&'static str],
) -> DistroRow {
    DistroRow {
        id,
        name,
        like,
        names,
    }
}

const RHEL_LIKE: &[&str] = &["rhel", "fedora"];
const EL_CLONE: &[&str] = &["rhel", "centos", "fedora"];
const DEB: &[&str] = &["debian"];
const UBU: &[&str] = &["ubuntu", "debian"];
const SUSE: &[&str] = &["suse"];
const ARCH: &[&str] = &["arch"];
const NONE: &[&str] = &[];

/// The table. Order matters only for name matching: longer, more specific names come before the
/// names they start with ("suse linux enterprise desktop" before "suse").
pub const DISTROS: &[DistroRow] = &[
    // Red Hat family.
    row(
        "rhel",
        "RedHat",
        &["fedora"],
        &["red hat enterprise linux", "redhat", "red hat"],
    ),
    row("centos", "CentOS", RHEL_LIKE, &["centos"]),
    row(
        "oracle",
        "Oracle",
        RHEL_LIKE,
        &[
            "oracle linux",
            "enterprise linux enterprise linux",
            "oracle",
        ],
    ),
    row("amzn", "Amazon", &["fedora"], &["amazon linux", "amazon"]),
    row("fedora", "Fedora", NONE, &["fedora"]),
    row("rocky", "Rocky", EL_CLONE, &["rocky linux", "rocky"]),
    row(
        "almalinux",
        "AlmaLinux",
        EL_CLONE,
        &["almalinux", "alma linux"],
    ),
    row(
        "scientific",
        "Scientific",
        RHEL_LIKE,
        &["scientific linux", "scientific"],
    ),
    row("cloudlinux", "CloudLinux", EL_CLONE, &["cloudlinux"]),
    row("eurolinux", "EuroLinux", EL_CLONE, &["eurolinux"]),
    row("navy", "Navy Linux", EL_CLONE, &["navy linux"]),
    row("circle", "Circle Linux", EL_CLONE, &["circle linux"]),
    row(
        "miraclelinux",
        "MIRACLE LINUX",
        EL_CLONE,
        &["miracle linux"],
    ),
    row("virtuozzo", "Virtuozzo", EL_CLONE, &["virtuozzo"]),
    row("springdale", "Springdale", EL_CLONE, &["springdale"]),
    row(
        "xenenterprise",
        "XenServer",
        EL_CLONE,
        &["xenserver", "citrix hypervisor"],
    ),
    row(
        "ibm_powerkvm",
        "IBM PowerKVM",
        RHEL_LIKE,
        &["ibm_powerkvm", "ibm powerkvm"],
    ),
    row("kvmibm", "KVM for IBM z", RHEL_LIKE, &["kvm for ibm"]),
    row("pidora", "Pidora", &["fedora"], &["pidora"]),
    row("parallels", "Parallels", RHEL_LIKE, &["parallels"]),
    row("openeuler", "openEuler", NONE, &["openeuler"]),
    row("euleros", "EulerOS", RHEL_LIKE, &["euleros"]),
    row("anolis", "Anolis", EL_CLONE, &["anolis"]),
    row(
        "alinux",
        "Alibaba Cloud Linux",
        EL_CLONE,
        &["alibaba cloud linux"],
    ),
    row("tencentos", "TencentOS", EL_CLONE, &["tencentos"]),
    row("opencloudos", "OpenCloudOS", EL_CLONE, &["opencloudos"]),
    row(
        "mariner",
        "CBL-Mariner",
        NONE,
        &["cbl-mariner", "common base linux mariner"],
    ),
    row(
        "azurelinux",
        "Azure Linux",
        NONE,
        &["microsoft azure linux", "azure linux"],
    ),
    row(
        "rhcos",
        "RedHat CoreOS",
        RHEL_LIKE,
        &["red hat enterprise linux coreos"],
    ),
    // SUSE family.
    row(
        "sled",
        "SUSE",
        SUSE,
        &["suse linux enterprise desktop", "sled"],
    ),
    row(
        "sles",
        "SUSE",
        SUSE,
        &[
            "suse linux enterprise server",
            "suse linux enterprise",
            "sles",
            "suse linux",
            "suse",
        ],
    ),
    row("sles_sap", "SUSE", &["sles", "suse"], &[]),
    row("sle-micro", "SUSE", SUSE, &["suse linux enterprise micro"]),
    row("sl-micro", "SUSE", SUSE, &["suse linux micro"]),
    row("opensuse", "openSUSE", SUSE, &["opensuse"]),
    row(
        "opensuse-tumbleweed",
        "openSUSE",
        &["opensuse", "suse"],
        &[],
    ),
    row("opensuse-slowroll", "openSUSE", &["opensuse", "suse"], &[]),
    row("opensuse-microos", "openSUSE", &["opensuse", "suse"], &[]),
    // Debian family.
    row("ubuntu", "Ubuntu", DEB, &["ubuntu"]),
    row("debian", "Debian", NONE, &["debian"]),
    row("linuxmint", "Mint", UBU, &["linux mint", "linuxmint"]),
    row("raspbian", "Raspbian", DEB, &["raspbian"]),
    row("kali", "Kali", DEB, &["kali"]),
    row("armbian", "Armbian", DEB, &["armbian"]),
    row("devuan", "Devuan", DEB, &["devuan"]),
    row("mx", "MX", DEB, &["mx linux"]),
    row("deepin", "Deepin", DEB, &["deepin"]),
    row("parrot", "Parrot", DEB, &["parrot"]),
    row("pureos", "PureOS", DEB, &["pureos"]),
    row("tails", "Tails", DEB, &["tails"]),
    row("pop", "Pop!_OS", UBU, &["pop!_os"]),
    row("elementary", "elementary OS", UBU, &["elementary"]),
    row("zorin", "Zorin", UBU, &["zorin"]),
    row("neon", "KDE neon", UBU, &["kde neon"]),
    row("trisquel", "Trisquel", UBU, &["trisquel"]),
    row("uos", "UOS", DEB, &["uos", "uniontech"]),
    // Others.
    row("alpine", "Alpine", NONE, &["alpine"]),
    row("arch", "Arch", NONE, &["arch linux", "archlinux", "arch"]),
    row("archarm", "Arch", NONE, &["arch linux arm"]),
    row("manjaro", "Manjaro", ARCH, &["manjaro"]),
    row(
        "manjaro-arm",
        "Manjaro",
        ARCH,
        &["manjaro-arm", "manjaro arm"],
    ),
    row("endeavouros", "EndeavourOS", ARCH, &["endeavouros"]),
    row("garuda", "Garuda", ARCH, &["garuda"]),
    row("artix", "Artix", ARCH, &["artix"]),
    row("steamos", "SteamOS", ARCH, &["steamos"]),
    row("gentoo", "Gentoo", NONE, &["gentoo"]),
    row("slackware", "Slackware", NONE, &["slackware"]),
    row("mageia", "Mageia", &["mandriva", "fedora"], &["mageia"]),
    row(
        "mandriva",
        "Mandriva",
        NONE,
        &["mandriva", "mandrake", "mandrakelinux"],
    ),
    row(
        "openmandriva",
        "OpenMandriva",
        &["mandriva"],
        &["openmandriva"],
    ),
    row(
        "altlinux",
        "ALT",
        NONE,
        &[
            "alt linux",
            "alt server",
            "alt workstation",
            "alt education",
            "alt ",
        ],
    ),
    row("coreos", "CoreOS", NONE, &["coreos", "container linux"]),
    row("flatcar", "Flatcar", &["coreos"], &["flatcar"]),
    row("buildroot", "Buildroot", NONE, &["buildroot"]),
    row("exherbo", "Exherbo", NONE, &["exherbo"]),
    row("guix", "Guix", NONE, &["guix"]),
    row("nixos", "NixOS", NONE, &["nixos"]),
    row("void", "Void", NONE, &["void"]),
    row("clear-linux-os", "Clear Linux", NONE, &["clear linux"]),
    row("photon", "Photon", NONE, &["vmware photon", "photon"]),
    row("solus", "Solus", NONE, &["solus"]),
    row("openelec", "OpenELEC", NONE, &["openelec"]),
    row("libreelec", "LibreELEC", NONE, &["libreelec"]),
    row("openwrt", "OpenWrt", NONE, &["openwrt"]),
    row(
        "postmarketos",
        "postmarketOS",
        &["alpine"],
        &["postmarketos"],
    ),
    row("wolfi", "Wolfi", NONE, &["wolfi"]),
    row("chainguard", "Chainguard", &["wolfi"], &["chainguard"]),
    row("bottlerocket", "Bottlerocket", NONE, &["bottlerocket"]),
    row("talos", "Talos", NONE, &["talos"]),
    row("clearos", "ClearOS", EL_CLONE, &["clearos"]),
    row("freebsd", "FreeBSD", NONE, &["freebsd"]),
    row("openbsd", "OpenBSD", NONE, &["openbsd"]),
    row("netbsd", "NetBSD", NONE, &["netbsd"]),
    row("midnightbsd", "MidnightBSD", &["freebsd"], &["midnightbsd"]),
    row("solaris", "Solaris", NONE, &["oracle solaris", "solaris"]),
    row("omnios", "OmniOS", &["illumos"], &["omnios"]),
    row("openindiana", "OpenIndiana", &["illumos"], &["openindiana"]),
    row("smartos", "SmartOS", &["illumos"], &["smartos"]),
    row("illumos", "illumos", NONE, &["illumos"]),
];

/// The row of a (normalised) id.
#[must_use]
pub fn by_id(id: &str) -> Option<&'static DistroRow> {
    DISTROS.iter().find(|r| r.id == id)
}

/// The id of a distribution named `name` ("CentOS Linux", "Scientific Linux", "LinuxMint"):
/// the row with the longest matching name prefix, so "suse linux enterprise desktop" beats "suse".
#[must_use]
pub fn id_by_name(name: &str) -> Option<&'static str> {
    let lower = name.trim().to_lowercase();
    if lower.is_empty() {
        return None;
    }
    let mut best: Option<(&'static str, usize)> = None;
    for r in DISTROS {
        for prefix in r.names {
            if starts_with_word(&lower, prefix) && best.is_none_or(|(_, len)| prefix.len() > len) {
                best = Some((r.id, prefix.len()));
            }
        }
    }
    best.map(|(id, _)| id)
}

/// `text` starts with `prefix` and the match ends at a word boundary ("arch linux" matches
/// "arch", "archery" does not).
fn starts_with_word(text: &str, prefix: &str) -> bool {
    if !text.starts_with(prefix) {
        return false;
    }
    if prefix.ends_with(' ') {
        return true;
    }
    text[prefix.len()..]
        .chars()
        .next()
        .is_none_or(|c| !c.is_alphanumeric())
}

/// The name people use for an id, `None` when the id is not in the table.
#[must_use]
pub fn name_of(id: &str) -> Option<&'static str> {
    by_id(id).map(|r| r.name)
}

/// Whether `child` is known to derive from `parent` (directly or through the table's parents).
#[must_use]
pub fn derives_from(child: &str, parent: &str) -> bool {
    by_id(child).is_some_and(|r| r.like.contains(&parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        for (i, a) in DISTROS.iter().enumerate() {
            for b in &DISTROS[i + 1..] {
                assert_ne!(a.id, b.id, "duplicate id");
            }
        }
    }

    #[test]
    fn names_map_to_ids() {
        let cases = [
            ("CentOS Linux", Some("centos")),
            ("CentOS Stream", Some("centos")),
            ("Red Hat Enterprise Linux Server", Some("rhel")),
            ("Scientific Linux", Some("scientific")),
            ("Enterprise Linux Enterprise Linux Server", Some("oracle")),
            ("Oracle Linux Server", Some("oracle")),
            ("Amazon Linux AMI", Some("amzn")),
            ("SUSE Linux Enterprise Desktop", Some("sled")),
            ("SUSE Linux Enterprise Server", Some("sles")),
            ("SLES", Some("sles")),
            ("openSUSE Leap", Some("opensuse")),
            ("LinuxMint", Some("linuxmint")),
            ("Linux Mint", Some("linuxmint")),
            ("ALT Server", Some("altlinux")),
            ("Arch Linux", Some("arch")),
            ("Archery Linux", None),
            ("Manjaro Linux", Some("manjaro")),
            ("Debian GNU/Linux", Some("debian")),
            ("", None),
        ];
        for (name, id) in cases {
            assert_eq!(id_by_name(name), id, "{name}");
        }
    }

    #[test]
    fn derivatives() {
        assert!(derives_from("scientific", "rhel"));
        assert!(derives_from("linuxmint", "ubuntu"));
        assert!(!derives_from("ubuntu", "rhel"));
        assert!(!derives_from("nonexistent", "debian"));
    }
}
