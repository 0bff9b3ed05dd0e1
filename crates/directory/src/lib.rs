#![doc = include_str!("../README.md")]

/// One service of the system.
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service {
    /// `shipping`: its subcommand, its schema and consumer group, its front-door prefix.
    pub name: &'static str,
    /// The port it listens on unless told otherwise.
    pub port: u16,
    /// What the home page says it does.
    pub summary: &'static str,
    pub role: Role,
}

/// What a service is to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Takes orders and publishes them: exactly one, never scaled by `up`.
    Producer,
    /// Learns of orders from a transport; instances of one share its consumer group.
    Consumer {
        /// Whether `orderflow up` starts it without `--with`: a service that joins later does not.
        started_by_default: bool,
    },
}

pub const ORDER: Service = Service {
    name: "order",
    port: 8081,
    summary: "Place orders and see all of them.",
    role: Role::Producer,
};

pub const SHIPPING: Service = Service {
    name: "shipping",
    port: 8082,
    summary: "Shipments, made from every new order.",
    role: Role::Consumer {
        started_by_default: true,
    },
};

pub const INVOICING: Service = Service {
    name: "invoicing",
    port: 8083,
    summary: "Invoices, made from every new order.",
    role: Role::Consumer {
        started_by_default: true,
    },
};

pub const BONUS: Service = Service {
    name: "bonus",
    port: 8084,
    summary: "Bonus points per customer, one per whole euro ordered; joined later and replayed the history.",
    role: Role::Consumer {
        started_by_default: false,
    },
};

/// Every service, in the order pages and banners list them.
pub static ALL: [&Service; 4] = [&ORDER, &SHIPPING, &INVOICING, &BONUS];

impl Service {
    /// The path the front door serves it under: `/shipping`.
    pub fn prefix(&self) -> String {
        format!("/{}", self.name)
    }

    pub fn is_consumer(&self) -> bool {
        matches!(self.role, Role::Consumer { .. })
    }

    /// Whether `orderflow up` starts it when not told otherwise.
    pub fn started_by_default(&self) -> bool {
        match self.role {
            Role::Producer => true,
            Role::Consumer { started_by_default } => started_by_default,
        }
    }
}

/// The service called `name`.
pub fn named(name: &str) -> Option<&'static Service> {
    ALL.iter().copied().find(|service| service.name == name)
}

/// The consumer services, in table order.
pub fn consumers() -> impl Iterator<Item = &'static Service> {
    ALL.iter().copied().filter(|service| service.is_consumer())
}

/// The consumers' names, for error messages: `shipping, invoicing, bonus`.
pub fn consumer_names() -> String {
    consumers().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ports_are_unique() {
        for (i, a) in ALL.iter().enumerate() {
            for b in &ALL[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.port, b.port);
            }
        }
    }

    #[test]
    fn finds_a_service_by_name() {
        assert_eq!(named("bonus"), Some(&BONUS));
        assert_eq!(named("billing"), None);
        assert_eq!(consumer_names(), "shipping, invoicing, bonus");
        assert!(!ORDER.is_consumer());
        assert!(SHIPPING.started_by_default() && !BONUS.started_by_default());
    }
}
