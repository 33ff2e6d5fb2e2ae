//! macOS rules: SystemVersion.plist and release names.

/// Reads `ProductName` and `ProductVersion` from the text of
/// `/System/Library/CoreServices/SystemVersion.plist` (XML plist). `None` when the version is
/// missing.
#[must_use]
pub fn parse_system_version_plist(text: &str) -> Option<(String, String)> {
    let value_of = |key: &str| -> Option<String> {
        let tag = format!("<key>{key}</key>");
        let after = &text[text.find(&tag)? + tag.len()..];
        let start = after.find("<string>")? + "<string>".len();
        // Only whitespace may separate the key from its value.
        if !after[..start - "<string>".len()].trim().is_empty() {
            return None;
        }
        let len = after[start..].find("</string>")?;
        let v = after[start..start + len].trim();
        (!v.is_empty()).then(|| v.to_string())
    };
    let version = value_of("ProductVersion")?;
    let name = value_of("ProductName").unwrap_or_else(|| "macOS".to_string());
    Some((name, version))
}

/// The marketing name of a macOS version: "14.5" → "Sonoma", "10.15.7" → "Catalina".
#[must_use]
pub fn macos_codename(version: &str) -> Option<&'static str> {
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next().flatten()?;
    let minor = parts.next().flatten().unwrap_or(0);
    Some(match (major, minor) {
        (10, 0) => "Cheetah",
        (10, 1) => "Puma",
        (10, 2) => "Jaguar",
        (10, 3) => "Panther",
        (10, 4) => "Tiger",
        (10, 5) => "Leopard",
        (10, 6) => "Snow Leopard",
        (10, 7) => "Lion",
        (10, 8) => "Mountain Lion",
        (10, 9) => "Mavericks",
        (10, 10) => "Yosemite",
        (10, 11) => "El Capitan",
        (10, 12) => "Sierra",
        (10, 13) => "High Sierra",
        (10, 14) => "Mojave",
        (10, 15) => "Catalina",
        (10, 16) | (11, _) => "Big Sur",
        (12, _) => "Monterey",
        (13, _) => "Ventura",
        (14, _) => "Sonoma",
        (15, _) => "Sequoia",
        (26, _) => "Tahoe",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>BuildID</key>
	<string>6F1A9E8C-1B3E-11EF-8B9A-5D5A0A9A8A8A</string>
	<key>ProductBuildVersion</key>
	<string>23F79</string>
	<key>ProductCopyright</key>
	<string>1983-2024 Apple Inc.</string>
	<key>ProductName</key>
	<string>macOS</string>
	<key>ProductUserVisibleVersion</key>
	<string>14.5</string>
	<key>ProductVersion</key>
	<string>14.5</string>
	<key>iOSSupportVersion</key>
	<string>17.5</string>
</dict>
</plist>
"#;

    #[test]
    fn plist() {
        assert_eq!(
            parse_system_version_plist(PLIST),
            Some(("macOS".into(), "14.5".into()))
        );
        let old = "<dict><key>ProductName</key><string>Mac OS X</string><key>ProductVersion</key><string>10.6.8</string></dict>";
        assert_eq!(
            parse_system_version_plist(old),
            Some(("Mac OS X".into(), "10.6.8".into()))
        );
        assert_eq!(
            parse_system_version_plist(
                "<key>ProductVersion</key><integer>3</integer><string>x</string>"
            ),
            None
        );
        assert_eq!(parse_system_version_plist(""), None);
    }

    #[test]
    fn codenames() {
        let cases = [
            ("14.5", Some("Sonoma")),
            ("10.15.7", Some("Catalina")),
            ("11.7.10", Some("Big Sur")),
            ("15.0", Some("Sequoia")),
            ("26.1", Some("Tahoe")),
            ("x", None),
            ("99", None),
        ];
        for (v, c) in cases {
            assert_eq!(macos_codename(v), c, "{v}");
        }
    }
}
