use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use orderflow_directory::Service;

use crate::Lab;

/// One running instance of a service.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub service: &'static Service,
    /// `http://127.0.0.1:8081`, no trailing slash.
    pub url: String,
    /// What the home page calls it: `shipping`, `shipping #2`.
    pub label: String,
    /// Whether the front door's `/health` is down while it is: a service that may join later
    /// (bonus, unless `up` started it) is routed and shown, but not required.
    pub required: bool,
}

impl Upstream {
    /// The only instance of `service`, on this machine at `port`.
    pub fn local(service: &'static Service, port: u16) -> Self {
        Upstream {
            service,
            url: format!("http://127.0.0.1:{port}"),
            label: service.name.to_owned(),
            required: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FrontDoorSettings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub upstreams: Vec<Upstream>,
    /// What the launcher lets the live page do to its processes; `None` (a front door on its
    /// own) turns the lab off.
    pub lab: Option<Arc<dyn Lab>>,
}

impl FrontDoorSettings {
    /// The front door at `port` for one instance of every service at its default port; those
    /// `up` does not start by default are not required.
    pub fn local(port: u16) -> Self {
        FrontDoorSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            upstreams: orderflow_directory::ALL
                .iter()
                .map(|service| Upstream {
                    required: service.started_by_default(),
                    ..Upstream::local(service, service.port)
                })
                .collect(),
            lab: None,
        }
    }
}
