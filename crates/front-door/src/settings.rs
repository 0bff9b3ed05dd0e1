use std::net::{IpAddr, Ipv4Addr};

/// The three services behind the front door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Order,
    Shipping,
    Invoicing,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Order, Service::Shipping, Service::Invoicing];

    pub fn name(self) -> &'static str {
        match self {
            Service::Order => "order",
            Service::Shipping => "shipping",
            Service::Invoicing => "invoicing",
        }
    }

    /// The path prefix the front door serves it under: `/order`.
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Order => "/order",
            Service::Shipping => "/shipping",
            Service::Invoicing => "/invoicing",
        }
    }
}

/// One running instance of a service.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub service: Service,
    /// `http://127.0.0.1:8081`, no trailing slash.
    pub url: String,
    /// What the home page calls it: `shipping`, `shipping #2`.
    pub label: String,
}

#[derive(Debug, Clone)]
pub struct FrontDoorSettings {
    pub bind: IpAddr,
    /// 0 picks a free port.
    pub port: u16,
    pub upstreams: Vec<Upstream>,
}

impl FrontDoorSettings {
    /// The front door on 8080 for one instance of each service on the given ports.
    pub fn local(port: u16, order: u16, shipping: u16, invoicing: u16) -> Self {
        let upstream = |service: Service, port: u16| Upstream {
            service,
            url: format!("http://127.0.0.1:{port}"),
            label: service.name().to_owned(),
        };
        FrontDoorSettings {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            upstreams: vec![
                upstream(Service::Order, order),
                upstream(Service::Shipping, shipping),
                upstream(Service::Invoicing, invoicing),
            ],
        }
    }
}
