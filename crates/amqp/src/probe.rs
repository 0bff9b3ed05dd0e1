use lapin::{Connection, ConnectionProperties};

use crate::AmqpSettings;

/// Answers "is RabbitMQ reachable?" for health endpoints: a connection of its own, opened and
/// closed per check (a health check never waits behind the service's traffic).
#[derive(Debug, Clone)]
pub struct AmqpProbe {
    settings: AmqpSettings,
}

impl AmqpProbe {
    pub fn new(settings: &AmqpSettings) -> Self {
        AmqpProbe {
            settings: settings.clone(),
        }
    }

    /// `Ok` when RabbitMQ accepted a connection within 2 s; why not, otherwise.
    pub async fn check(&self) -> Result<(), String> {
        let connect = Connection::connect(
            self.settings.url.trim(),
            ConnectionProperties::default().with_connection_name("orderflow-health".into()),
        );
        match tokio::time::timeout(std::time::Duration::from_secs(2), connect).await {
            Ok(Ok(connection)) => {
                let _ = connection.close(200, "health check".into()).await;
                Ok(())
            }
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err("RabbitMQ did not answer within 2 s".to_owned()),
        }
    }
}
