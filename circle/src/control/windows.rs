//! The Windows named pipe endpoint: only the current user, Administrators and SYSTEM may open
//! it, and remote clients are refused.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::windows::named_pipe::{
    ClientOptions, NamedPipeClient, NamedPipeServer, ServerOptions,
};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_PIPE_BUSY, HANDLE, LocalFree,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY, TOKEN_USER,
    TokenUser,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::server::{Handler, serve_connection};
use crate::error::{Error, Result};

/// The current user's SID as a string (`S-1-5-21-...`).
fn current_user_sid() -> io::Result<String> {
    // SAFETY: standard token query; buffers are sized by the first call and freed below.
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut len = 0u32;
        GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
        // u64 elements keep the buffer aligned for TOKEN_USER.
        let mut buf = vec![0u64; (len as usize).div_ceil(8).max(1)];
        let ok = GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len);
        CloseHandle(token);
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        let user = &*(buf.as_ptr().cast::<TOKEN_USER>());
        let mut wide: *mut u16 = std::ptr::null_mut();
        if ConvertSidToStringSidW(user.User.Sid, &mut wide) == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut n = 0;
        while *wide.add(n) != 0 {
            n += 1;
        }
        let s = String::from_utf16_lossy(std::slice::from_raw_parts(wide, n));
        LocalFree(wide.cast());
        Ok(s)
    }
}

/// A security descriptor granting full access to the current user, Administrators and SYSTEM,
/// with a protected DACL (nothing inherited).
pub(crate) struct PipeSecurity {
    sd: PSECURITY_DESCRIPTOR,
    sa: SECURITY_ATTRIBUTES,
}

// SAFETY: the descriptor is immutable once built and owned by this value.
unsafe impl Send for PipeSecurity {}
// SAFETY: as above; Windows only reads it.
unsafe impl Sync for PipeSecurity {}

impl PipeSecurity {
    pub(crate) fn sddl(user_sid: &str) -> String {
        format!("D:P(A;;GA;;;{user_sid})(A;;GA;;;BA)(A;;GA;;;SY)")
    }

    pub(crate) fn new() -> io::Result<Box<PipeSecurity>> {
        let sddl = PipeSecurity::sddl(&current_user_sid()?);
        let wide: Vec<u16> = sddl.encode_utf16().chain(std::iter::once(0)).collect();
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `wide` is NUL-terminated; `sd` is freed with LocalFree in Drop.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                wide.as_ptr(),
                SDDL_REVISION_1,
                &mut sd,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        let mut me = Box::new(PipeSecurity {
            sd,
            sa: SECURITY_ATTRIBUTES {
                nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
                lpSecurityDescriptor: sd,
                bInheritHandle: 0,
            },
        });
        me.sa.lpSecurityDescriptor = me.sd;
        Ok(me)
    }

    fn create(&self, name: &str, first: bool) -> io::Result<NamedPipeServer> {
        let mut opts = ServerOptions::new();
        opts.first_pipe_instance(first).reject_remote_clients(true);
        // SAFETY: `sa` points to a valid SECURITY_ATTRIBUTES that outlives the call.
        unsafe {
            opts.create_with_security_attributes_raw(
                name,
                (&raw const self.sa).cast_mut().cast::<std::ffi::c_void>(),
            )
        }
    }
}

impl Drop for PipeSecurity {
    fn drop(&mut self) {
        // SAFETY: allocated by ConvertStringSecurityDescriptorToSecurityDescriptorW.
        unsafe {
            LocalFree(self.sd.cast());
        }
    }
}

/// Creates the first pipe instance (refusing a pipe another `circled` owns) and serves it.
pub(crate) fn serve_pipe<H: Handler>(
    name: &str,
    handler: Arc<H>,
    limit: Arc<Semaphore>,
) -> Result<JoinHandle<()>> {
    let err = |source: io::Error| Error::Endpoint {
        endpoint: name.to_string(),
        source,
    };
    let security = PipeSecurity::new().map_err(err)?;
    let first = match security.create(name, true) {
        Ok(p) => p,
        Err(e) if e.raw_os_error() == Some(ERROR_ACCESS_DENIED as i32) => {
            return Err(Error::AlreadyRunning {
                pid: None,
                what: name.to_string(),
            });
        }
        Err(e) => return Err(err(e)),
    };
    let name = name.to_string();
    Ok(tokio::spawn(async move {
        let mut conns = tokio::task::JoinSet::new();
        let mut server = first;
        loop {
            let Ok(permit) = limit.clone().acquire_owned().await else {
                return;
            };
            if let Err(e) = server.connect().await {
                tracing::warn!("control pipe {name}: {e}");
            } else {
                // Create the next instance before handing this one over, so a client never
                // finds no instance at all.
                let next = match security.create(&name, false) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!("control pipe {name}: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let conn = std::mem::replace(&mut server, next);
                let h = handler.clone();
                conns.spawn(async move {
                    serve_connection(conn, h, None).await;
                    drop(permit);
                });
            }
            while conns.try_join_next().is_some() {}
        }
    }))
}

/// Opens the pipe, waiting while every instance is busy.
pub(crate) async fn connect(name: &str) -> io::Result<NamedPipeClient> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match ClientOptions::new().open(name) {
            Ok(c) => return Ok(c),
            Err(e)
                if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32)
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sddl_names_user_admins_system() {
        assert_eq!(
            super::PipeSecurity::sddl("S-1-5-21-1"),
            "D:P(A;;GA;;;S-1-5-21-1)(A;;GA;;;BA)(A;;GA;;;SY)"
        );
    }
}
