//! Pure checks on archive entry names and link targets.
//!
//! Nothing here touches the file system: every rule is a function over bytes, so the
//! Windows rules are tested on Linux and the property tests can throw arbitrary byte
//! strings at them.

use std::fmt;

/// Why an archive entry name or link target was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsafe {
    /// The name is empty (or only `/` and `.` components with nothing after them).
    Empty,
    /// The name holds a NUL byte.
    Nul,
    /// The name starts with `/` (absolute path).
    Absolute,
    /// The name starts with `//` or `\\` (a UNC path).
    Unc,
    /// The name starts with a Windows drive letter (`C:`).
    DriveLetter,
    /// The name holds a backslash, which Windows reads as a separator.
    Backslash,
    /// The name holds a `..` component.
    ParentDir,
    /// A link target that climbs (`..`) after going down, or climbs above the archive root.
    LinkEscapes,
    /// A link target that is absolute (or a drive / UNC path).
    LinkAbsolute,
    /// A component Windows cannot create: a reserved device name (`CON`, `NUL`, `COM1`...),
    /// a `:` (alternate data stream) or a trailing dot or space.
    WindowsReserved,
}

impl Unsafe {
    /// A short human explanation.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Unsafe::Empty => "empty name",
            Unsafe::Nul => "NUL byte in name",
            Unsafe::Absolute => "absolute path",
            Unsafe::Unc => "UNC path",
            Unsafe::DriveLetter => "Windows drive letter",
            Unsafe::Backslash => "backslash in path",
            Unsafe::ParentDir => "`..` component",
            Unsafe::LinkEscapes => "link target points outside the destination",
            Unsafe::LinkAbsolute => "absolute link target",
            Unsafe::WindowsReserved => {
                "name Windows cannot create (reserved name, `:` or trailing dot)"
            }
        }
    }
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks common to entry names and link targets: NUL, backslash, absolute, UNC, drive.
fn check_prefix(name: &[u8]) -> Result<(), Unsafe> {
    if name.contains(&0) {
        return Err(Unsafe::Nul);
    }
    if name.starts_with(b"//") || name.starts_with(b"\\\\") {
        return Err(Unsafe::Unc);
    }
    if name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        return Err(Unsafe::DriveLetter);
    }
    if name.contains(&b'\\') {
        return Err(Unsafe::Backslash);
    }
    if name.first() == Some(&b'/') {
        return Err(Unsafe::Absolute);
    }
    Ok(())
}

/// The normal components of an archive entry name, or why it is refused.
///
/// Accepts `/`-separated relative names; `.` components and repeated or trailing
/// slashes are dropped (`./a//b/` is `a`, `b`). Refuses NUL bytes, absolute paths,
/// UNC paths, drive letters, backslashes and `..` components. An empty result
/// (`./`, the archive root itself) is `Ok(vec![])`: the caller skips it.
///
/// # Errors
///
/// [`Unsafe`] says which rule the name breaks.
pub fn entry_components(name: &[u8]) -> Result<Vec<&[u8]>, Unsafe> {
    check_prefix(name)?;
    let mut out = Vec::new();
    for c in name.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err(Unsafe::ParentDir),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Whether a component is one Windows cannot create as a plain file name.
///
/// Reserved device names (`CON`, `PRN`, `AUX`, `NUL`, `COM1`-`COM9`, `LPT1`-`LPT9`, with
/// any extension), a `:` (alternate data stream), `<>"|?*`, control characters, and a
/// trailing dot or space.
#[must_use]
pub fn windows_reserved(component: &[u8]) -> bool {
    if component
        .iter()
        .any(|&b| b < 0x20 || matches!(b, b':' | b'<' | b'>' | b'"' | b'|' | b'?' | b'*'))
    {
        return true;
    }
    if matches!(component.last(), Some(b'.' | b' ')) {
        return true;
    }
    let stem = component
        .split(|&b| b == b'.')
        .next()
        .unwrap_or(component)
        .trim_ascii_end()
        .to_ascii_uppercase();
    matches!(stem.as_slice(), b"CON" | b"PRN" | b"AUX" | b"NUL")
        || (stem.len() == 4
            && (stem.starts_with(b"COM") || stem.starts_with(b"LPT"))
            && (b'1'..=b'9').contains(&stem[3]))
}

/// Checks a symbolic link's target, given the link's own components in the archive.
///
/// A safe target is relative and has the shape `(../)* name (/name)*`: it may climb
/// first, at most as many levels as the link is deep, then only go down. Refusing `..`
/// after a normal component is what keeps a chain of links honest: without it, a target
/// like `d/up/../..` looks inside lexically but escapes when `d/up` is itself a link to
/// `..`. With this shape, and with no entry written through a link, every link resolves
/// inside the destination whatever the other links point to.
///
/// Returns the number of leading `..` components.
///
/// # Errors
///
/// [`Unsafe::LinkAbsolute`] for absolute, UNC and drive targets,
/// [`Unsafe::LinkEscapes`] for targets that climb too far or climb after going down,
/// and the name rules (NUL, backslash) of [`entry_components`].
pub fn check_link_target(link: &[&[u8]], target: &[u8]) -> Result<usize, Unsafe> {
    if target.is_empty() {
        return Err(Unsafe::Empty);
    }
    match check_prefix(target) {
        Err(Unsafe::Absolute | Unsafe::Unc | Unsafe::DriveLetter) => {
            return Err(Unsafe::LinkAbsolute);
        }
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let depth = link.len().saturating_sub(1);
    let mut ups = 0usize;
    let mut down = false;
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if down {
                    return Err(Unsafe::LinkEscapes);
                }
                ups += 1;
                if ups > depth {
                    return Err(Unsafe::LinkEscapes);
                }
            }
            _ => down = true,
        }
    }
    Ok(ups)
}

/// Resolves a safe link target (see [`check_link_target`]) against the link's components:
/// the components, relative to the archive root, of what the link points to.
#[must_use]
pub fn resolve_link<'a>(link: &[&'a [u8]], target: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out: Vec<&[u8]> = link[..link.len().saturating_sub(1)].to_vec();
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        let ok: &[(&[u8], &[&[u8]])] = &[
            (b"a", &[b"a"]),
            (b"./a//b/", &[b"a", b"b"]),
            (b"./", &[]),
            (b"a/./b", &[b"a", b"b"]),
            (b"caf\xe9", &[b"caf\xe9"]),
            (b"ab:c", &[b"ab:c"]),
            (b"...", &[b"..."]),
            (b"..a/b..", &[b"..a", b"b.."]),
        ];
        for (name, want) in ok {
            assert_eq!(entry_components(name).as_deref(), Ok(*want), "{name:?}");
        }
        let bad: &[(&[u8], Unsafe)] = &[
            (b"../x", Unsafe::ParentDir),
            (b"a/../../x", Unsafe::ParentDir),
            (b"a/..", Unsafe::ParentDir),
            (b"/etc/passwd", Unsafe::Absolute),
            (b"//server/share/x", Unsafe::Unc),
            (b"\\\\server\\share", Unsafe::Unc),
            (b"C:\\Windows\\x", Unsafe::DriveLetter),
            (b"c:/x", Unsafe::DriveLetter),
            (b"C:x", Unsafe::DriveLetter),
            (b"a\\..\\..\\x", Unsafe::Backslash),
            (b"a\0b", Unsafe::Nul),
        ];
        for (name, want) in bad {
            assert_eq!(entry_components(name), Err(*want), "{name:?}");
        }
    }

    #[test]
    fn link_targets() {
        let link: &[&[u8]] = &[b"a", b"b", b"l"];
        assert_eq!(check_link_target(link, b"x"), Ok(0));
        assert_eq!(check_link_target(link, b"../x/y"), Ok(1));
        assert_eq!(check_link_target(link, b"../../x"), Ok(2));
        assert_eq!(check_link_target(link, b"./../.."), Ok(2));
        assert_eq!(
            check_link_target(link, b"../../../x"),
            Err(Unsafe::LinkEscapes)
        );
        assert_eq!(check_link_target(link, b"x/../y"), Err(Unsafe::LinkEscapes));
        assert_eq!(check_link_target(link, b"/etc"), Err(Unsafe::LinkAbsolute));
        assert_eq!(check_link_target(link, b"C:/x"), Err(Unsafe::LinkAbsolute));
        assert_eq!(check_link_target(link, b"..\\x"), Err(Unsafe::Backslash));
        assert_eq!(check_link_target(link, b""), Err(Unsafe::Empty));
        assert_eq!(
            check_link_target(&[b"top"], b".."),
            Err(Unsafe::LinkEscapes)
        );
        assert_eq!(resolve_link(link, b"../x/y"), vec![&b"a"[..], b"x", b"y"]);
        assert_eq!(resolve_link(link, b"../.."), Vec::<&[u8]>::new());
    }

    #[test]
    fn windows_names() {
        for bad in [
            &b"CON"[..],
            b"con.txt",
            b"COM1",
            b"lpt9.log",
            b"a:b",
            b"x.",
            b"y ",
            b"q?",
        ] {
            assert!(windows_reserved(bad), "{bad:?}");
        }
        for good in [&b"CONSOLE"[..], b"COM0", b"com10", b"a.b", b"nul_x"] {
            assert!(!windows_reserved(good), "{good:?}");
        }
    }
}
