//! Calls shared by the Unix backends: `getifaddrs`, `statvfs`, `gethostname`, `uname`, `sysctlbyname`.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::net::{Address, NetworkInfo, format_mac, netmask_to_prefix};
use crate::{Error, Result};

/// Every interface `getifaddrs` lists, grouped by name in first-seen order (`finish` not yet run).
/// With `merge_aliases`, `eth0:1` labels join `eth0` when it exists (Linux).
pub(crate) fn interfaces(merge_aliases: bool) -> Result<Vec<NetworkInfo>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(Error::last_os("getifaddrs"));
    }
    let mut out: Vec<NetworkInfo> = Vec::new();
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: `cur` is a node of the list getifaddrs returned, alive until freeifaddrs.
        let ifa = unsafe { &*cur };
        cur = ifa.ifa_next;
        if ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        let entry = crate::net::entry_named(&mut out, name, merge_aliases);
        let flags = ifa.ifa_flags as libc::c_int;
        entry.is_up |= flags & libc::IFF_UP != 0;
        entry.is_loopback |= flags & libc::IFF_LOOPBACK != 0;
        if ifa.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_addr points to a sockaddr of the family it declares.
        let family = libc::c_int::from(unsafe { (*ifa.ifa_addr).sa_family });
        match family {
            libc::AF_INET => {
                // SAFETY: family AF_INET means sockaddr_in.
                let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes());
                let prefix = if ifa.ifa_netmask.is_null() {
                    32
                } else {
                    // SAFETY: the netmask of an AF_INET address is a sockaddr_in.
                    let m = unsafe { &*(ifa.ifa_netmask as *const libc::sockaddr_in) };
                    netmask_to_prefix(&m.sin_addr.s_addr.to_ne_bytes())
                };
                entry.addresses.push(Address::new(IpAddr::V4(ip), prefix));
            }
            libc::AF_INET6 => {
                // SAFETY: family AF_INET6 means sockaddr_in6.
                let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                let mut bytes = sin6.sin6_addr.s6_addr;
                // BSDs embed the scope id in bytes 2..4 of link-local addresses (KAME).
                if cfg!(not(target_os = "linux")) && bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 {
                    bytes[2] = 0;
                    bytes[3] = 0;
                }
                let prefix = if ifa.ifa_netmask.is_null() {
                    128
                } else {
                    // SAFETY: the netmask of an AF_INET6 address is a sockaddr_in6.
                    let m = unsafe { &*(ifa.ifa_netmask as *const libc::sockaddr_in6) };
                    netmask_to_prefix(&m.sin6_addr.s6_addr)
                };
                entry
                    .addresses
                    .push(Address::new(IpAddr::V6(Ipv6Addr::from(bytes)), prefix));
            }
            #[cfg(target_os = "linux")]
            libc::AF_PACKET => {
                // SAFETY: family AF_PACKET means sockaddr_ll.
                let sll = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_ll) };
                let len = usize::from(sll.sll_halen).min(sll.sll_addr.len());
                entry.mac = format_mac(&sll.sll_addr[..len]);
            }
            #[cfg(any(target_os = "macos", target_os = "freebsd"))]
            libc::AF_LINK => {
                let sdl = ifa.ifa_addr as *const libc::sockaddr_dl;
                // SAFETY: family AF_LINK means sockaddr_dl; its sdl_data holds the name (nlen
                // bytes) then the address (alen bytes), within sdl_len.
                let (nlen, alen, total) = unsafe {
                    (
                        usize::from((*sdl).sdl_nlen),
                        usize::from((*sdl).sdl_alen),
                        usize::from((*sdl).sdl_len),
                    )
                };
                let data_off = std::mem::offset_of!(libc::sockaddr_dl, sdl_data);
                if alen > 0
                    && data_off + nlen + alen <= total.max(std::mem::size_of::<libc::sockaddr_dl>())
                {
                    // SAFETY: bounds checked against sdl_len just above.
                    let mac = unsafe {
                        std::slice::from_raw_parts((sdl as *const u8).add(data_off + nlen), alen)
                    };
                    entry.mac = format_mac(mac);
                }
                if !ifa.ifa_data.is_null() {
                    // SAFETY: for AF_LINK entries ifa_data points to the link's struct if_data.
                    let data = unsafe { &*(ifa.ifa_data as *const libc::if_data) };
                    entry.mtu = Some(data.ifi_mtu as u32);
                }
            }
            _ => {}
        }
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The answers to an `RTM_GETLINK` dump then an `RTM_GETADDR` dump on one `NETLINK_ROUTE`
/// socket: the messages `getifaddrs` reads, without its `bind`/`getsockname` and with one large
/// buffer (the kernel sizes a dump's chunks after the reader's buffer, at most 32 KiB).
#[cfg(target_os = "linux")]
pub(crate) fn rtnetlink_dumps() -> io::Result<Vec<u8>> {
    RtNetlink::open()?.interface_dumps()
}

/// [`rtnetlink_dumps`], then on the same socket the source address the kernel picks for each
/// destination of `probes` in turn (an `RTM_GETROUTE` query, as `ip route get`: the route
/// lookup a UDP `connect` makes, without a socket of its own): `Some(Some(first found))`,
/// `Some(None)` when the kernel answers that none has a route, `None` when a query fails
/// otherwise (then ask another way).
#[cfg(target_os = "linux")]
pub(crate) fn rtnetlink_dumps_and_source(
    probes: &[std::net::IpAddr],
) -> io::Result<(Vec<u8>, Option<Option<std::net::IpAddr>>)> {
    let mut nl = RtNetlink::open()?;
    let out = nl.interface_dumps()?;
    for &probe in probes {
        match nl.route_source(probe) {
            Ok(Some(ip)) => return Ok((out, Some(Some(ip)))),
            Ok(None) => {}
            Err(e) if e.raw_os_error().is_some_and(means_no_route) => {}
            Err(_) => return Ok((out, None)),
        }
    }
    Ok((out, Some(None)))
}

/// Whether the error of a route query means "no usable route" rather than a failure to ask:
/// network or host unreachable, a `prohibit` route (`EACCES`), a `blackhole` route (`EINVAL`),
/// or the address family not built into the kernel. (The same errors make a UDP `connect` fail.)
#[cfg(target_os = "linux")]
pub(crate) fn means_no_route(errno: i32) -> bool {
    [
        libc::ENETUNREACH,
        libc::EHOSTUNREACH,
        libc::EACCES,
        libc::EINVAL,
        libc::EAFNOSUPPORT,
        libc::EOPNOTSUPP,
    ]
    .contains(&errno)
}

/// The body of the `RTM_GETLINK` dump request: an `ifinfomsg` (family `AF_UNSPEC`) and
/// `IFLA_EXT_MASK` = `RTEXT_FILTER_SKIP_STATS`, as `ip link` sends it: the kernel then does not
/// gather and send each link's counters (kernels before 5.3 ignore the bit and send them).
#[cfg(target_os = "linux")]
fn link_dump_request() -> [u8; 24] {
    const IFLA_EXT_MASK: u16 = 29;
    const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
    let mut b = [0u8; 24];
    b[16..18].copy_from_slice(&8u16.to_ne_bytes());
    b[18..20].copy_from_slice(&IFLA_EXT_MASK.to_ne_bytes());
    b[20..24].copy_from_slice(&RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    b
}

/// A `NETLINK_ROUTE` socket with its receive buffer and the sequence number of the last request.
#[cfg(target_os = "linux")]
struct RtNetlink {
    fd: std::os::fd::OwnedFd,
    buf: Vec<u8>,
    seq: u32,
}

#[cfg(target_os = "linux")]
impl RtNetlink {
    #[allow(unsafe_code)]
    fn open() -> io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain socket creation.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            // SAFETY: fd was just opened and is owned here only.
            fd: unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) },
            buf: Vec::with_capacity(32 * 1024),
            seq: 0,
        })
    }

    /// Sends one request (`body` after a netlink header of type `ty` with `flags`).
    #[allow(unsafe_code)]
    fn send(&mut self, ty: u16, flags: u16, body: &[u8]) -> io::Result<u32> {
        use std::os::fd::AsRawFd;
        self.seq += 1;
        let mut req = Vec::with_capacity(16 + body.len());
        req.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        req.extend_from_slice(&ty.to_ne_bytes());
        req.extend_from_slice(&(flags | libc::NLM_F_REQUEST as u16).to_ne_bytes());
        req.extend_from_slice(&self.seq.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.extend_from_slice(body);
        // SAFETY: an all-zero sockaddr_nl is valid; the kernel is port 0.
        let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: req and kernel are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                req.as_ptr().cast(),
                req.len(),
                0,
                (&kernel as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(self.seq)
    }

    /// Receives once into the buffer (its contents are then the message bytes); the length read.
    #[allow(unsafe_code)]
    fn recv(&mut self) -> io::Result<usize> {
        use std::os::fd::AsRawFd;
        self.buf.clear();
        loop {
            // The kernel writes into the spare capacity; nothing reads it before it is written
            // (no zeroing of 32 KiB on every call).
            let spare = self.buf.spare_capacity_mut();
            // SAFETY: the pointer is valid for writes of spare.len() bytes.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    spare.as_mut_ptr().cast(),
                    spare.len(),
                    0,
                )
            };
            if n >= 0 {
                let n = n as usize;
                // SAFETY: recv initialised the first n bytes of the spare capacity.
                unsafe { self.buf.set_len(n) };
                return Ok(n);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Calls `f(type, message)` for each message of the answer to request `seq` in the buffer's
    /// first `n` bytes. `Ok(true)` once the answer is over (`NLMSG_DONE`, or any message when
    /// `single`); an `NLMSG_ERROR` is returned as the error it carries.
    fn each(
        &self,
        n: usize,
        seq: u32,
        single: bool,
        mut f: impl FnMut(u16, &[u8]),
    ) -> io::Result<bool> {
        let mut chunk = &self.buf[..n];
        let mut done = false;
        while chunk.len() >= 16 {
            let len = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]) as usize;
            let mtype = u16::from_ne_bytes([chunk[4], chunk[5]]);
            let mseq = u32::from_ne_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]);
            if len < 16 || len > chunk.len() {
                return Err(io::ErrorKind::InvalidData.into());
            }
            if mseq == seq {
                match i32::from(mtype) {
                    libc::NLMSG_DONE => return Ok(true),
                    libc::NLMSG_ERROR => {
                        let code = chunk
                            .get(16..20)
                            .map_or(0, |c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]));
                        return Err(if code < 0 {
                            io::Error::from_raw_os_error(-code)
                        } else {
                            io::ErrorKind::InvalidData.into()
                        });
                    }
                    _ => {
                        f(mtype, &chunk[..len]);
                        done |= single;
                    }
                }
            }
            chunk = chunk.get((len + 3) & !3..).unwrap_or(&[]);
        }
        Ok(done)
    }

    /// The link dump (without counters) then the address dump, messages in one buffer.
    fn interface_dumps(&mut self) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(16 * 1024);
        self.dump(libc::RTM_GETLINK, &link_dump_request(), &mut out)?;
        self.dump(libc::RTM_GETADDR, &[0; 4], &mut out)?;
        Ok(out)
    }

    /// One whole dump of `ty` (family `AF_UNSPEC`), its messages appended to `out`, each at a
    /// 4-byte aligned offset.
    fn dump(&mut self, ty: u16, body: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let seq = self.send(ty, libc::NLM_F_DUMP as u16, body)?;
        loop {
            let n = self.recv()?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let done = self.each(n, seq, false, |_, m| {
                out.extend_from_slice(m);
                out.resize((out.len() + 3) & !3, 0);
            })?;
            if done {
                return Ok(());
            }
        }
    }

    /// The source address of the route to `dest`: `RTA_PREFSRC` of the `RTM_GETROUTE` answer.
    /// `Ok(None)` when the answer names none.
    fn route_source(&mut self, dest: std::net::IpAddr) -> io::Result<Option<std::net::IpAddr>> {
        let seq = self.send(libc::RTM_GETROUTE, 0, &crate::net::route_get_request(dest))?;
        let mut source = None;
        loop {
            let n = self.recv()?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if self.each(n, seq, true, |_, m| {
                source = crate::net::parse_route_source(m);
            })? {
                return Ok(source);
            }
        }
    }
}

/// MTU of each named interface (`SIOCGIFMTU` on one socket; `None` where it fails).
#[cfg(target_os = "linux")]
pub(crate) fn mtus<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Option<u32>> {
    // SAFETY: plain socket creation; closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    let out = names
        .map(|name| {
            if fd < 0 || name.len() >= libc::IFNAMSIZ {
                return None;
            }
            // SAFETY: an all-zero ifreq is valid.
            let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
            for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
                *d = s as libc::c_char;
            }
            // SAFETY: fd is a socket, req a valid ifreq with a NUL-terminated name.
            if unsafe { libc::ioctl(fd, libc::SIOCGIFMTU, &mut req) } != 0 {
                return None;
            }
            // SAFETY: SIOCGIFMTU fills the mtu member of the union.
            u32::try_from(unsafe { req.ifr_ifru.ifru_mtu }).ok()
        })
        .collect();
    if fd >= 0 {
        // SAFETY: fd was opened above and is closed once.
        unsafe { libc::close(fd) };
    }
    out
}

/// Boot time in Unix seconds from `CLOCK_REALTIME - CLOCK_BOOTTIME`, the same offset the kernel
/// prints as `btime`; `None` when the two bracketing readings straddle a second boundary.
#[cfg(target_os = "linux")]
pub(crate) fn boot_time_from_clocks() -> Option<u64> {
    fn now(clock: libc::clockid_t) -> Option<i128> {
        // SAFETY: an all-zero timespec is valid; clock_gettime fills it.
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        // SAFETY: valid out pointer.
        if unsafe { libc::clock_gettime(clock, &mut ts) } != 0 {
            return None;
        }
        Some(i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec))
    }
    let b1 = now(libc::CLOCK_BOOTTIME)?;
    let r = now(libc::CLOCK_REALTIME)?;
    let b2 = now(libc::CLOCK_BOOTTIME)?;
    let (hi, lo) = (
        (r - b1).div_euclid(1_000_000_000),
        (r - b2).div_euclid(1_000_000_000),
    );
    if hi != lo {
        return None;
    }
    u64::try_from(hi).ok()
}

/// (total, free for unprivileged users) bytes of the file system holding `path`.
#[cfg(target_os = "linux")]
#[allow(clippy::unnecessary_cast)]
pub(crate) fn statvfs(path: &str) -> io::Result<(u64, u64)> {
    let c = CString::new(path).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: an all-zero statvfs is valid; statvfs fills it.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: c is NUL-terminated, st is a valid out pointer.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let frsize = if st.f_frsize as u64 == 0 {
        st.f_bsize as u64
    } else {
        st.f_frsize as u64
    };
    Ok(crate::disk::sizes(
        st.f_blocks as u64,
        st.f_bavail as u64,
        frsize,
    ))
}

/// `gethostname`.
pub(crate) fn hostname() -> Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; the result is NUL-terminated when it fits.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } != 0 {
        return Err(Error::last_os("gethostname"));
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

/// `uname -m`.
pub(crate) fn machine() -> String {
    // SAFETY: an all-zero utsname is valid; uname fills it with NUL-terminated fields.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    if unsafe { libc::uname(&mut u) } != 0 {
        return std::env::consts::ARCH.to_string();
    }
    // SAFETY: machine is NUL-terminated by uname (and zeroed before).
    unsafe { CStr::from_ptr(u.machine.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Logical CPUs online.
pub(crate) fn online_cpus() -> usize {
    // SAFETY: sysconf has no memory effects.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(n).unwrap_or(0).max(1)
}

/// Raw `sysctlbyname` bytes.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn sysctl_raw(name: &str) -> Result<Vec<u8>> {
    let c = CString::new(name)
        .map_err(|_| Error::os(format!("sysctl {name}"), io::ErrorKind::InvalidInput.into()))?;
    let mut len: libc::size_t = 0;
    // SAFETY: a null old pointer asks for the size only.
    if unsafe {
        libc::sysctlbyname(
            c.as_ptr(),
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    } != 0
    {
        return Err(Error::last_os(format!("sysctl {name}")));
    }
    let mut buf = vec![0u8; len];
    // SAFETY: buf has `len` writable bytes.
    if unsafe {
        libc::sysctlbyname(
            c.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    } != 0
    {
        return Err(Error::last_os(format!("sysctl {name}")));
    }
    buf.truncate(len);
    Ok(buf)
}

/// A string `sysctl` (trailing NULs removed).
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn sysctl_string(name: &str) -> Result<String> {
    let b = sysctl_raw(name)?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Ok(String::from_utf8_lossy(&b[..end]).trim().to_string())
}

/// An integer `sysctl` of 4 or 8 bytes.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn sysctl_u64(name: &str) -> Result<u64> {
    let b = sysctl_raw(name)?;
    match b.len() {
        8 => Ok(u64::from_ne_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ])),
        4 => Ok(u64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))),
        n => Err(Error::os(
            format!("sysctl {name}"),
            io::Error::new(io::ErrorKind::InvalidData, format!("{n} bytes")),
        )),
    }
}

/// `kern.boottime` (a `struct timeval`) in Unix seconds.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
pub(crate) fn boot_time() -> Result<u64> {
    let b = sysctl_raw("kern.boottime")?;
    if b.len() < 8 {
        return Err(Error::os(
            "sysctl kern.boottime",
            io::ErrorKind::InvalidData.into(),
        ));
    }
    // tv_sec is the first field: 8 bytes on every 64-bit target, 4 on i386 FreeBSD.
    let secs = if std::mem::size_of::<libc::time_t>() == 8 {
        i64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    } else {
        i64::from(i32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    u64::try_from(secs)
        .map_err(|_| Error::os("sysctl kern.boottime", io::ErrorKind::InvalidData.into()))
}

/// Mounted file systems from `getmntinfo(MNT_NOWAIT)`: psutil's `all=False` keeps those whose
/// device is an absolute path that exists.
#[cfg(any(target_os = "macos", target_os = "freebsd"))]
#[allow(clippy::unnecessary_cast)]
pub(crate) fn mounted() -> Result<Vec<crate::DiskPartition>> {
    let mut buf: *mut libc::statfs = std::ptr::null_mut();
    // SAFETY: getmntinfo points buf at a static array it owns; MNT_NOWAIT never blocks on NFS.
    let n = unsafe { libc::getmntinfo(&mut buf, libc::MNT_NOWAIT) };
    if n <= 0 || buf.is_null() {
        return Err(Error::last_os("getmntinfo"));
    }
    // SAFETY: getmntinfo returned n entries at buf.
    let all = unsafe { std::slice::from_raw_parts(buf, n as usize) };
    let cstr = |s: &[libc::c_char]| {
        // SAFETY: the statfs name fields are NUL-terminated arrays.
        unsafe { CStr::from_ptr(s.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    let mut out = Vec::new();
    for fs in all {
        let device = cstr(&fs.f_mntfromname);
        if !device.starts_with('/') || !std::path::Path::new(&device).exists() {
            continue;
        }
        let (total, free) = crate::disk::sizes(
            fs.f_blocks as u64,
            fs.f_bavail.max(0) as u64,
            fs.f_bsize as u64,
        );
        out.push(
            crate::DiskPartition::new(device, cstr(&fs.f_mntonname), cstr(&fs.f_fstypename))
                .with_sizes(total, free),
        );
    }
    Ok(out)
}
