//! Windows: `circled --daemon` as a native Windows service (windows-service crate).

use std::ffi::OsString;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};
use windows_sys::Win32::Foundation::{ERROR_SERVICE_DOES_NOT_EXIST, ERROR_SERVICE_EXISTS};

use super::{ServiceBody, ServiceContext};
use crate::error::{Error, Result};

fn svc_err(name: &str, what: &str, e: windows_service::Error) -> Error {
    Error::Service {
        name: name.to_string(),
        message: format!("{what}: {e}"),
    }
}

fn raw_os(e: &windows_service::Error) -> Option<i32> {
    match e {
        windows_service::Error::Winapi(io) => io.raw_os_error(),
        _ => None,
    }
}

/// See [`super::install_and_start`].
pub(super) fn install_and_start(name: &str, config: &Path, args: &[OsString]) -> Result<bool> {
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .map_err(|e| svc_err(name, "cannot open the service manager", e))?;
    let exe = std::env::current_exe().map_err(|e| Error::io("circled executable", e))?;
    let mut launch_arguments = vec![OsString::from("--service"), OsString::from("-c")];
    launch_arguments.push(config.as_os_str().to_owned());
    launch_arguments.extend(args.iter().cloned());
    let info = ServiceInfo {
        name: OsString::from(name),
        display_name: OsString::from(format!("circle supervisor ({})", config.display())),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe,
        launch_arguments,
        dependencies: vec![],
        account_name: None,
        account_password: None,
    };
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::START | ServiceAccess::CHANGE_CONFIG;
    let (service, installed) = match manager.create_service(&info, access) {
        Ok(s) => (s, true),
        Err(e) if raw_os(&e) == Some(ERROR_SERVICE_EXISTS as i32) => {
            let s = manager
                .open_service(name, access)
                .map_err(|e| svc_err(name, "cannot open the service", e))?;
            // Same name, perhaps a moved binary or new flags: bring the definition up to date.
            s.change_config(&info)
                .map_err(|e| svc_err(name, "cannot update the service", e))?;
            (s, false)
        }
        Err(e) => return Err(svc_err(name, "cannot install the service", e)),
    };
    if installed {
        let _ = service
            .set_description("Supervises the processes of a circle configuration (agentry-circle)");
    }
    let status = service
        .query_status()
        .map_err(|e| svc_err(name, "cannot query the service", e))?;
    if status.current_state == ServiceState::Running {
        return Err(Error::AlreadyRunning {
            pid: status.process_id,
            what: format!("service {name}"),
        });
    }
    service
        .start::<&str>(&[])
        .map_err(|e| svc_err(name, "cannot start the service", e))?;
    // Return once it runs (the service reports Running only when the supervisor and the
    // control pipe are up), or say why not.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = service
            .query_status()
            .map_err(|e| svc_err(name, "cannot query the service", e))?;
        match s.current_state {
            ServiceState::Running => return Ok(installed),
            ServiceState::Stopped => {
                return Err(Error::Service {
                    name: name.to_string(),
                    message: format!("stopped while starting (exit code {:?})", s.exit_code),
                });
            }
            _ if Instant::now() > deadline => {
                return Err(Error::Service {
                    name: name.to_string(),
                    message: "did not report running within 60 s".into(),
                });
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// See [`super::uninstall`].
pub(super) fn uninstall(name: &str) -> Result<bool> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .map_err(|e| svc_err(name, "cannot open the service manager", e))?;
    let access = ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE;
    let service = match manager.open_service(name, access) {
        Ok(s) => s,
        Err(e) if raw_os(&e) == Some(ERROR_SERVICE_DOES_NOT_EXIST as i32) => return Ok(false),
        Err(e) => return Err(svc_err(name, "cannot open the service", e)),
    };
    if service
        .query_status()
        .map(|s| s.current_state != ServiceState::Stopped)
        .unwrap_or(false)
    {
        let _ = service.stop();
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            match service.query_status() {
                Ok(s) if s.current_state == ServiceState::Stopped => break,
                Ok(_) => std::thread::sleep(Duration::from_millis(200)),
                Err(_) => break,
            }
        }
    }
    service
        .delete()
        .map_err(|e| svc_err(name, "cannot delete the service", e))?;
    Ok(true)
}

static BODY: OnceLock<Mutex<Option<(String, ServiceBody)>>> = OnceLock::new();

define_windows_service!(ffi_service_main, service_main);

fn set(handle: &ServiceStatusHandle, state: ServiceState, exit: u32) {
    let _ = handle.set_service_status(ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: if state == ServiceState::Running {
            Duration::ZERO
        } else {
            Duration::from_secs(60)
        },
        process_id: None,
    });
}

fn service_main(_arguments: Vec<OsString>) {
    let Some((name, body)) = BODY
        .get()
        .and_then(|m| m.lock().ok().and_then(|mut g| g.take()))
    else {
        return;
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    // The handler reports StopPending itself, so the service manager waits for the graceful
    // stop (wait hint 60 s) instead of declaring the service hung.
    let own: std::sync::Arc<OnceLock<ServiceStatusHandle>> = std::sync::Arc::default();
    let own_in_handler = own.clone();
    let handler = move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown | ServiceControl::Preshutdown => {
            if let Some(h) = own_in_handler.get() {
                set(h, ServiceState::StopPending, 0);
            }
            let _ = tx.send(true);
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    };
    let Ok(handle) = service_control_handler::register(&name, handler) else {
        return;
    };
    let _ = own.set(handle);
    set(&handle, ServiceState::StartPending, 0);
    let ready_handle = handle;
    let ctx = ServiceContext {
        stop: rx,
        ready: Box::new(move || set(&ready_handle, ServiceState::Running, 0)),
    };
    let code = match body(ctx) {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!("{e}");
            1
        }
    };
    set(&handle, ServiceState::Stopped, code);
}

/// See [`super::run_service`].
pub(super) fn run_service(name: &str, body: ServiceBody) -> Result<()> {
    let slot = BODY.get_or_init(|| Mutex::new(None));
    if let Ok(mut g) = slot.lock() {
        *g = Some((name.to_string(), body));
    }
    service_dispatcher::start(name, ffi_service_main)
        .map_err(|e| svc_err(name, "cannot connect to the service control manager", e))
}
