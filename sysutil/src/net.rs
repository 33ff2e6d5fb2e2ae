//! Network interfaces: the types, address ordering rules and the Linux route table parsers.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};

use serde::Serialize;

/// An address of an interface with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Address {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (netmask bits), e.g. 24 for 255.255.255.0.
    pub prefix: u8,
}

impl Address {
    /// Builds an address.
    #[must_use]
    pub fn new(addr: IpAddr, prefix: u8) -> Self {
        Self { addr, prefix }
    }
}

/// One network interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct NetworkInfo {
    /// Interface name (`eth0`, `en0`; on Windows the friendly name, e.g. `Ethernet`).
    pub name: String,
    /// Hardware address, lower-case `aa:bb:cc:dd:ee:ff`; `None` when the link has none (tun, ppp).
    pub mac: Option<String>,
    /// Primary IPv4 address: the first one the kernel lists (`ip addr`'s primary, not secondary).
    pub ipv4: Option<Ipv4Addr>,
    /// Primary IPv6 address: the first global one, else the first other non-link-local, else link-local.
    pub ipv6: Option<Ipv6Addr>,
    /// Netmask of the primary IPv4 address.
    pub netmask: Option<Ipv4Addr>,
    /// Every address with its prefix length, in the order the OS lists them.
    pub addresses: Vec<Address>,
    /// Administratively up (`IFF_UP`; Windows: operational status up).
    pub is_up: bool,
    /// Loopback interface.
    pub is_loopback: bool,
    /// MTU in bytes, when known.
    pub mtu: Option<u32>,
}

impl NetworkInfo {
    /// A new interface with only its name.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }

    /// Computes `ipv4`, `ipv6` and `netmask` from `addresses`.
    pub fn finish(&mut self) {
        let v4 = self.addresses.iter().find_map(|a| match a.addr {
            IpAddr::V4(v) => Some((v, a.prefix)),
            IpAddr::V6(_) => None,
        });
        self.ipv4 = v4.map(|(v, _)| v);
        self.netmask = v4.map(|(_, p)| prefix_to_netmask_v4(p));
        self.ipv6 = self
            .addresses
            .iter()
            .filter_map(|a| match a.addr {
                IpAddr::V6(v) => Some(v),
                IpAddr::V4(_) => None,
            })
            .min_by_key(ipv6_rank);
    }
}

/// Formats a hardware address as lower-case hex pairs joined by `:`; `None` when empty.
#[must_use]
pub fn format_mac(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() {
        return None;
    }
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    Some(s)
}

/// The IPv4 netmask of a prefix length (clamped to 32).
#[must_use]
pub fn prefix_to_netmask_v4(prefix: u8) -> Ipv4Addr {
    let p = u32::from(prefix.min(32));
    Ipv4Addr::from(if p == 0 { 0 } else { u32::MAX << (32 - p) })
}

/// The prefix length of a netmask given as bytes (counts leading one bits).
#[must_use]
pub fn netmask_to_prefix(mask: &[u8]) -> u8 {
    let mut n = 0u8;
    for &b in mask {
        if b == 0xff {
            n += 8;
        } else {
            n += b.leading_ones() as u8;
            break;
        }
    }
    n
}

/// Sort key of an IPv6 address for "primary": global (incl. unique-local) first, then loopback and
/// others, link-local last.
#[must_use]
pub fn ipv6_rank(v: &Ipv6Addr) -> u8 {
    let seg0 = v.segments()[0];
    if (seg0 & 0xffc0) == 0xfe80 {
        2
    } else if v.is_loopback() || v.is_unspecified() || v.is_multicast() {
        1
    } else {
        0
    }
}

/// A row of `/proc/net/route` or `/proc/net/ipv6_route` reduced to what picking the default
/// route needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DefaultRoute {
    /// Interface the default route leaves through.
    pub iface: String,
    /// Route metric (lower wins).
    pub metric: u32,
}

const RTF_UP: u32 = 0x0001;

/// The IPv4 default route with the lowest metric from `/proc/net/route` text (hex fields,
/// header line first).
#[must_use]
pub fn default_route_v4(text: &str) -> Option<DefaultRoute> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let dest = u32::from_str_radix(f[1], 16).ok()?;
            let flags = u32::from_str_radix(f[3], 16).ok()?;
            let metric = f[6].parse::<u32>().ok()?;
            let mask = u32::from_str_radix(f[7], 16).ok()?;
            (dest == 0 && mask == 0 && flags & RTF_UP != 0).then(|| DefaultRoute {
                iface: f[0].to_string(),
                metric,
            })
        })
        .min_by_key(|r| r.metric)
}

/// The IPv6 default route (`::/0`, up, not the `lo` reject route) with the lowest metric from
/// `/proc/net/ipv6_route` text.
#[must_use]
pub fn default_route_v6(text: &str) -> Option<DefaultRoute> {
    const RTF_REJECT: u32 = 0x0200;
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let dest_zero = f[0].bytes().all(|b| b == b'0');
            let plen = u32::from_str_radix(f[1], 16).ok()?;
            let metric = u32::from_str_radix(f[5], 16).ok()?;
            let flags = u32::from_str_radix(f[8], 16).ok()?;
            (dest_zero && plen == 0 && flags & RTF_UP != 0 && flags & RTF_REJECT == 0).then(|| {
                DefaultRoute {
                    iface: f[9].to_string(),
                    metric,
                }
            })
        })
        .min_by_key(|r| r.metric)
}

/// The address of `iface` to report as primary for that family.
#[must_use]
pub fn address_of(ifaces: &[NetworkInfo], iface: &str, v6: bool) -> Option<IpAddr> {
    let i = ifaces.iter().find(|i| i.name == iface)?;
    if v6 {
        i.ipv6.map(IpAddr::V6)
    } else {
        i.ipv4.map(IpAddr::V4)
    }
}

/// The fallback primary address: the first IPv4 of an up, non-loopback interface, else such an
/// IPv6 that is not link-local.
#[must_use]
pub fn first_non_loopback(ifaces: &[NetworkInfo]) -> Option<IpAddr> {
    let usable = || ifaces.iter().filter(|i| i.is_up && !i.is_loopback);
    usable()
        .find_map(|i| {
            i.ipv4
                .filter(|a| !a.is_loopback() && !a.is_link_local())
                .map(IpAddr::V4)
        })
        .or_else(|| usable().find_map(|i| i.ipv6.filter(|a| ipv6_rank(a) == 0).map(IpAddr::V6)))
}

/// The source address the kernel picks for a public destination: `connect()` on a UDP socket only
/// selects a route and a source, it sends nothing.
#[must_use]
pub fn source_address_for(dest: IpAddr) -> Option<IpAddr> {
    let bind: IpAddr = match dest {
        IpAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        IpAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let sock = UdpSocket::bind((bind, 0)).ok()?;
    sock.connect((dest, 53)).ok()?;
    let ip = sock.local_addr().ok()?.ip();
    (!ip.is_unspecified()).then_some(ip)
}

/// Public addresses used only as routing destinations for [`source_address_for`].
pub const PROBE_V4: Ipv4Addr = Ipv4Addr::new(8, 8, 8, 8);
/// See [`PROBE_V4`].
pub const PROBE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888);

/// The entry named `name` of an interface list being built from `getifaddrs`-style entries,
/// created at the end when new. With `merge_aliases`, an `eth0:1` label joins `eth0` when that
/// is already listed (Linux).
pub(crate) fn entry_named(
    out: &mut Vec<NetworkInfo>,
    mut name: String,
    merge_aliases: bool,
) -> &mut NetworkInfo {
    if merge_aliases {
        if let Some((base, _)) = name.split_once(':') {
            if out.iter().any(|i| i.name == base) {
                name = base.to_string();
            }
        }
    }
    let idx = match out.iter().position(|i| i.name == name) {
        Some(i) => i,
        None => {
            out.push(NetworkInfo::new(name));
            out.len() - 1
        }
    };
    &mut out[idx]
}

/// Iterates over the `(type, payload)` of netlink messages or attributes: a 4-byte-aligned
/// stream of records whose header starts with their length (`u32` for messages, `u16` for
/// attributes) and holds `header` bytes in all.
fn netlink_records(mut b: &[u8], header: usize) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let (len, ty) = if header == 16 {
            let h = b.get(..8)?;
            (
                u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize,
                u16::from_ne_bytes([h[4], h[5]]),
            )
        } else {
            let h = b.get(..4)?;
            (
                usize::from(u16::from_ne_bytes([h[0], h[1]])),
                u16::from_ne_bytes([h[2], h[3]]),
            )
        };
        if len < header || len > b.len() {
            return None;
        }
        let payload = &b[header..len];
        b = b.get((len + 3) & !3..).unwrap_or(&[]);
        Some((ty, payload))
    })
}

/// The body (after the netlink header) of an `RTM_GETROUTE` request for the route to `dest`, as
/// `ip route get` sends it: an `rtmsg` with the family and a full-length destination, then the
/// `RTA_DST` attribute.
#[must_use]
pub fn route_get_request(dest: IpAddr) -> Vec<u8> {
    let (family, octets): (u8, Vec<u8>) = match dest {
        IpAddr::V4(a) => (2, a.octets().to_vec()),
        IpAddr::V6(a) => (10, a.octets().to_vec()),
    };
    let mut b = vec![0u8; 12];
    b[0] = family;
    b[1] = (octets.len() * 8) as u8;
    // RTA_DST (1): length, type, address.
    b.extend_from_slice(&((4 + octets.len()) as u16).to_ne_bytes());
    b.extend_from_slice(&1u16.to_ne_bytes());
    b.extend_from_slice(&octets);
    b
}

/// The preferred source address (`RTA_PREFSRC`) of an `RTM_NEWROUTE` message (the whole
/// message, header included), as the kernel fills it in its answer to a route query; `None` for
/// another message or without the attribute.
#[must_use]
pub fn parse_route_source(message: &[u8]) -> Option<IpAddr> {
    const RTM_NEWROUTE: u16 = 24;
    const RTA_PREFSRC: u16 = 7;
    let (ty, p) = netlink_records(message, 16).next()?;
    if ty != RTM_NEWROUTE {
        return None;
    }
    let family = *p.first()?;
    netlink_records(p.get(12..)?, 4)
        .find_map(|(ty, v)| match (ty, family, v.len()) {
            (RTA_PREFSRC, 2, 4) => Some(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
            (RTA_PREFSRC, 10, 16) => {
                let b: [u8; 16] = v.try_into().ok()?;
                Some(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => None,
        })
        .filter(|a| !a.is_unspecified())
}

/// One link of an `RTM_NEWLINK` message: (index, name, flags, hardware address, MTU).
type Link<'a> = (i32, Option<String>, u32, Option<&'a [u8]>, Option<u32>);

fn netlink_link(p: &[u8]) -> Option<Link<'_>> {
    let h = p.get(..16)?;
    let index = i32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
    let flags = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
    let (mut name, mut hw, mut mtu) = (None, None, None);
    for (ty, v) in netlink_records(&p[16..], 4) {
        match ty {
            // IFLA_ADDRESS, kept as glibc keeps it: up to its 36-byte sockaddr_ll_max.
            1 if v.len() <= 36 => hw = Some(v),
            // IFLA_IFNAME, NUL-terminated, at most IFNAMSIZ with the NUL (as glibc).
            3 if v.len() < 17 => name = Some(c_string(v)),
            // IFLA_MTU
            4 if v.len() == 4 => mtu = Some(u32::from_ne_bytes([v[0], v[1], v[2], v[3]])),
            _ => {}
        }
    }
    Some((index, name, flags, hw, mtu))
}

fn c_string(v: &[u8]) -> String {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// Interfaces from the answers to an `RTM_GETLINK` and an `RTM_GETADDR` netlink dump (the
/// messages as received, links first), grouped exactly as [`getifaddrs`] lists them on Linux:
/// one entry per link (flags, hardware address truncated to 8 bytes, MTU), then one per address,
/// named by its label (`eth0:1`, merged into `eth0`) or its link, with the link's flags; the
/// address is `IFA_LOCAL` when given (point-to-point), else `IFA_ADDRESS`. `ipv4`, `ipv6` and
/// `netmask` are left to [`NetworkInfo::finish`]. Messages of other types are ignored.
///
/// [`getifaddrs`]: https://man7.org/linux/man-pages/man3/getifaddrs.3.html
#[must_use]
pub fn parse_netlink_interfaces(messages: &[u8]) -> Vec<NetworkInfo> {
    const RTM_NEWLINK: u16 = 16;
    const RTM_NEWADDR: u16 = 20;
    const IFF_UP: u32 = 0x1;
    const IFF_LOOPBACK: u32 = 0x8;
    let mut out: Vec<NetworkInfo> = Vec::new();
    // (index, name, flags, MTU) of every link seen.
    let mut links: Vec<(i32, Option<String>, u32, Option<u32>)> = Vec::new();
    let apply_flags = |e: &mut NetworkInfo, flags: u32| {
        e.is_up |= flags & IFF_UP != 0;
        e.is_loopback |= flags & IFF_LOOPBACK != 0;
    };
    for (ty, p) in netlink_records(messages, 16) {
        match ty {
            RTM_NEWLINK => {
                let Some((index, name, flags, hw, mtu)) = netlink_link(p) else {
                    continue;
                };
                links.push((index, name.clone(), flags, mtu));
                let Some(name) = name else { continue };
                let e = entry_named(&mut out, name, true);
                apply_flags(e, flags);
                if let Some(hw) = hw {
                    e.mac = format_mac(&hw[..hw.len().min(8)]);
                }
            }
            RTM_NEWADDR => {
                let Some(h) = p.get(..8) else { continue };
                let (family, prefixlen) = (h[0], h[1]);
                let index = i32::from_ne_bytes([h[4], h[5], h[6], h[7]]);
                let Some(link) = links.iter().find(|l| l.0 == index) else {
                    continue;
                };
                let (mut label, mut local, mut address) = (None, None, None);
                for (ty, v) in netlink_records(&p[8..], 4) {
                    match ty {
                        1 => address = Some(v),
                        2 => local = Some(v),
                        3 if v.len() < 17 => label = Some(c_string(v)),
                        _ => {}
                    }
                }
                let Some(name) = label.or_else(|| link.1.clone()) else {
                    continue;
                };
                let e = entry_named(&mut out, name, true);
                apply_flags(e, link.2);
                let Some(v) = local.or(address) else { continue };
                let addr = match family {
                    2 => {
                        let b: [u8; 4] = v.try_into().unwrap_or([0; 4]);
                        Address::new(IpAddr::V4(Ipv4Addr::from(b)), prefixlen.min(32))
                    }
                    10 => {
                        let b: [u8; 16] = v.try_into().unwrap_or([0; 16]);
                        Address::new(IpAddr::V6(Ipv6Addr::from(b)), prefixlen.min(128))
                    }
                    _ => continue,
                };
                e.addresses.push(addr);
            }
            _ => {}
        }
    }
    // The MTU of the link each entry is named after (an alias label names its link's MTU).
    for e in &mut out {
        let base = e.name.split_once(':').map_or(e.name.as_str(), |(b, _)| b);
        e.mtu = links
            .iter()
            .find(|l| l.1.as_deref() == Some(base))
            .and_then(|l| l.3);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_messages() {
        let v4 = route_get_request(IpAddr::V4(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!(v4.len(), 20);
        assert_eq!((v4[0], v4[1]), (2, 32));
        assert_eq!(&v4[12..14], &8u16.to_ne_bytes());
        assert_eq!(&v4[14..16], &1u16.to_ne_bytes());
        assert_eq!(&v4[16..], &[8, 8, 8, 8]);
        let v6 = route_get_request(IpAddr::V6(PROBE_V6));
        assert_eq!((v6.len(), v6[0], v6[1]), (32, 10, 128));

        // An RTM_NEWROUTE answer: header, rtmsg, RTA_TABLE, RTA_DST, RTA_PREFSRC.
        let answer = |family: u8, src: &[u8]| {
            let mut body = vec![0u8; 12];
            body[0] = family;
            for (ty, v) in [(15u16, &[254u8, 0, 0, 0][..]), (1, &[8, 8, 8, 8]), (7, src)] {
                body.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
                body.extend_from_slice(&ty.to_ne_bytes());
                body.extend_from_slice(v);
                body.resize((body.len() + 3) & !3, 0);
            }
            let mut m = Vec::new();
            m.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
            m.extend_from_slice(&24u16.to_ne_bytes());
            m.extend_from_slice(&[0; 10]);
            m.extend_from_slice(&body);
            m
        };
        assert_eq!(
            parse_route_source(&answer(2, &[192, 0, 2, 2])),
            Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)))
        );
        let six = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
        assert_eq!(
            parse_route_source(&answer(10, &six.octets())),
            Some(IpAddr::V6(six))
        );
        // Wrong length for the family, unspecified, other message type, junk: nothing.
        assert_eq!(parse_route_source(&answer(10, &[192, 0, 2, 2])), None);
        assert_eq!(parse_route_source(&answer(2, &[0, 0, 0, 0])), None);
        let mut other = answer(2, &[192, 0, 2, 2]);
        other[4] = 16;
        assert_eq!(parse_route_source(&other), None);
        assert_eq!(parse_route_source(&[1, 2, 3]), None);
    }

    #[test]
    fn masks() {
        assert_eq!(prefix_to_netmask_v4(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(prefix_to_netmask_v4(0), Ipv4Addr::new(0, 0, 0, 0));
        assert_eq!(prefix_to_netmask_v4(32), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(prefix_to_netmask_v4(99), Ipv4Addr::new(255, 255, 255, 255));
        assert_eq!(prefix_to_netmask_v4(20), Ipv4Addr::new(255, 255, 240, 0));
        assert_eq!(netmask_to_prefix(&[255, 255, 240, 0]), 20);
        assert_eq!(netmask_to_prefix(&[0xff; 16]), 128);
        assert_eq!(netmask_to_prefix(&[]), 0);
    }

    #[test]
    fn mac_format() {
        assert_eq!(
            format_mac(&[2, 0xfc, 0, 0, 0, 1]).as_deref(),
            Some("02:fc:00:00:00:01")
        );
        assert_eq!(format_mac(&[]), None);
    }

    #[test]
    fn primary_addresses() {
        let mut i = NetworkInfo::new("eth0");
        i.addresses = vec![
            Address::new(
                "fe80::1"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                64,
            ),
            Address::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), 16),
            Address::new(
                "2001:db8::5"
                    .parse()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                64,
            ),
            Address::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 6)), 24),
        ];
        i.finish();
        assert_eq!(i.ipv4, Some(Ipv4Addr::new(10, 0, 0, 5)));
        assert_eq!(i.netmask, Some(Ipv4Addr::new(255, 255, 0, 0)));
        assert_eq!(
            i.ipv6.map(|v| v.to_string()).as_deref(),
            Some("2001:db8::5")
        );
    }

    #[test]
    fn routes() {
        let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
        assert_eq!(
            default_route_v4(v4).map(|r| r.iface).as_deref(),
            Some("eth0")
        );
        assert_eq!(default_route_v4("Iface\n"), None);
        let v6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        assert_eq!(
            default_route_v6(v6).map(|r| r.iface).as_deref(),
            Some("eth0")
        );
        let only_reject = v6.lines().nth(1).unwrap_or("");
        assert_eq!(default_route_v6(only_reject), None);
    }

    /// A netlink message: header (type, seq 1) then `body`, padded to 4 bytes.
    fn nlmsg(ty: u16, body: &[u8]) -> Vec<u8> {
        let len = 16 + body.len();
        let mut m = Vec::new();
        m.extend_from_slice(&(len as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&1u32.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(body);
        m.resize((m.len() + 3) & !3, 0);
        m
    }

    fn rta(ty: u16, v: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(v);
        a.resize((a.len() + 3) & !3, 0);
        a
    }

    fn link(index: i32, flags: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![0u8, 0, 1, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        b.extend_from_slice(&flags.to_ne_bytes());
        b.extend_from_slice(&0u32.to_ne_bytes());
        attrs.iter().for_each(|a| b.extend_from_slice(a));
        nlmsg(16, &b)
    }

    fn addr(family: u8, prefix: u8, index: i32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![family, prefix, 0, 0];
        b.extend_from_slice(&index.to_ne_bytes());
        attrs.iter().for_each(|a| b.extend_from_slice(a));
        nlmsg(20, &b)
    }

    #[test]
    fn netlink_interfaces() {
        let mut m = Vec::new();
        m.extend(link(
            1,
            0x9,
            &[
                rta(3, b"lo\0"),
                rta(4, &65536u32.to_ne_bytes()),
                rta(1, &[0; 6]),
            ],
        ));
        m.extend(link(
            2,
            0x1043,
            &[
                rta(3, b"eth0\0"),
                rta(4, &1400u32.to_ne_bytes()),
                rta(1, &[2, 0xfc, 0, 0, 0, 1]),
            ],
        ));
        // Down, no hardware address (a tunnel), a 20-byte one truncated as glibc does.
        m.extend(link(3, 0x0, &[rta(3, b"tun0\0")]));
        m.extend(link(4, 0x1, &[rta(3, b"ib0\0"), rta(1, &[7; 20])]));
        m.extend(nlmsg(3, &[0; 4])); // NLMSG_DONE between the dumps is ignored
        m.extend(addr(
            2,
            8,
            1,
            &[
                rta(1, &[127, 0, 0, 1]),
                rta(2, &[127, 0, 0, 1]),
                rta(3, b"lo\0"),
            ],
        ));
        m.extend(addr(
            2,
            24,
            2,
            &[
                rta(1, &[192, 0, 2, 2]),
                rta(2, &[192, 0, 2, 2]),
                rta(3, b"eth0\0"),
            ],
        ));
        // An alias label joins its interface; point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer.
        m.extend(addr(
            2,
            32,
            2,
            &[
                rta(1, &[10, 0, 0, 9]),
                rta(2, &[10, 0, 0, 1]),
                rta(3, b"eth0:1\0"),
            ],
        ));
        let v6: [u8; 16] = "fd00::2".parse::<Ipv6Addr>().expect("v6").octets();
        m.extend(addr(10, 64, 2, &[rta(1, &v6)]));
        m.extend(addr(10, 200, 9, &[rta(1, &v6)])); // unknown link: skipped
        let list = parse_netlink_interfaces(&m);
        let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "eth0", "tun0", "ib0"]);
        let (lo, eth0, tun0, ib0) = (&list[0], &list[1], &list[2], &list[3]);
        assert!(lo.is_up && lo.is_loopback);
        assert_eq!(
            (lo.mac.as_deref(), lo.mtu),
            (Some("00:00:00:00:00:00"), Some(65536))
        );
        assert!(eth0.is_up && !eth0.is_loopback);
        assert_eq!(
            (eth0.mac.as_deref(), eth0.mtu),
            (Some("02:fc:00:00:00:01"), Some(1400))
        );
        let addrs: Vec<(String, u8)> = eth0
            .addresses
            .iter()
            .map(|a| (a.addr.to_string(), a.prefix))
            .collect();
        assert_eq!(
            addrs,
            [
                ("192.0.2.2".into(), 24),
                ("10.0.0.1".into(), 32),
                ("fd00::2".into(), 64)
            ]
        );
        assert!(!tun0.is_up && tun0.mac.is_none() && tun0.mtu.is_none());
        assert_eq!(ib0.mac.as_deref(), Some("07:07:07:07:07:07:07:07"));
        // Truncated input never panics.
        for n in 0..m.len() {
            let _ = parse_netlink_interfaces(&m[..n]);
        }
    }
}
