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

#[cfg(test)]
mod tests {
    use super::*;

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
}
