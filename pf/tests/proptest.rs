//! No input makes a parser panic, and detection under a root of random files always answers.

use pf::rules::{self, ReleaseFiles};
use proptest::prelude::*;

fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~\n\t\"'\\\\=#()]{0,200}",
        "(ID|NAME|VERSION|VERSION_ID|ID_LIKE|PRETTY_NAME|VERSION_CODENAME|DISTRIB_ID|DISTRIB_RELEASE)=[\"']?[ -~]{0,30}[\"']?(\n|\\\\\n)?",
        "[A-Za-z ]{0,20} (release )?[0-9.a-z+-]{0,10}( LTS)?( \\([^)]{0,10}\\))?[ -~]{0,10}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(512) })]

    #[test]
    fn text_parsers_never_panic(text in texty()) {
        let _ = rules::parse_os_release(&text);
        let _ = rules::parse_lsb_release(&text);
        let _ = rules::parse_release_line(&text);
        let _ = rules::parse_release_file(&text);
        let _ = rules::parse_suse_release(&text);
        let _ = rules::parse_debian_version(&text);
        let _ = rules::parse_solaris_release(&text);
        let _ = rules::parse_freebsd_version_script(&text);
        let _ = rules::parse_uname_script(&text);
        let _ = rules::parse_system_version_plist(&text);
        let _ = rules::linux::codename_from_version(&text);
        let _ = rules::linux::leading_version(&text);
        let _ = rules::bsd_version(&text);
        let _ = rules::macos_codename(&text);
        let _ = rules::normalize_arch(&text);
        let _ = rules::bits_of_machine(&text);
        let _ = rules::aix_version(&text, &text);
        let _ = rules::unix::android_version(&text);
    }

    #[test]
    fn number_rules_never_panic(major in any::<u32>(), minor in any::<u32>(), build in any::<u32>(), server in any::<bool>(), m in any::<u16>(), b in any::<i64>()) {
        let p = rules::windows_product(major, minor, build, server);
        prop_assert!(!p.version.is_empty());
        let _ = rules::windows_arch(m);
        let _ = rules::aix_bits(b);
    }

    #[test]
    fn identify_always_answers(
        os in proptest::option::of(texty()),
        files in proptest::collection::vec((prop_oneof![
            Just("lsb-release".to_string()), Just("debian_version".to_string()), Just("redhat-release".to_string()),
            Just("centos-release".to_string()), Just("system-release".to_string()), Just("SuSE-release".to_string()),
            Just("armbian-release".to_string()), Just("board-release".to_string()), Just("release".to_string()),
            Just("alpine-release".to_string()), Just("upstream-release/lsb-release".to_string()), "[a-z]{1,8}-release",
        ], texty()), 0..6),
    ) {
        let mut rf = ReleaseFiles::new();
        if let Some(os) = os { rf = rf.os_release(os); }
        for (name, text) in files { rf = rf.etc_file(name, text); }
        let d = rules::identify(&rf);
        prop_assert!(!d.dist.is_empty());
        prop_assert!(!d.id.is_empty());
        if let Some(c) = &d.codename {
            prop_assert!(!rules::linux::is_architecture(c));
            prop_assert!(!c.trim().is_empty());
        }
    }

    #[test]
    fn detect_in_random_tree_answers(files in proptest::collection::vec(("(os-release|lsb-release|debian_version|redhat-release|centos-release|[a-z]{1,6}-release)", proptest::collection::vec(any::<u8>(), 0..300)), 0..5)) {
        let tmp = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        std::fs::create_dir_all(tmp.path().join("etc")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, bytes) in &files {
            std::fs::write(tmp.path().join("etc").join(name), bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
        let p = pf::detect_in(tmp.path());
        prop_assert!(!p.dist().is_empty());
    }
}
