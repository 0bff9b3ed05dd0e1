//! The Kafka ceiling `bench/run` compares orderflow with: how fast raw rdkafka produces and
//! consumes order-sized records on the same broker, with the same producer guarantees
//! (idempotent, acks=all) and no database in the way.
//!
//!   cargo run --release --example kafka_ceiling -- <brokers> [records]
//!
//! Prints one JSON object: {"records": n, "producePerSec": x, "consumePerSec": y}.

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};

const RECORD: &str = include_str!("../../events/fixtures/order-record-original-producer.json");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let brokers = args
        .next()
        .ok_or("usage: kafka_ceiling <brokers> [records]")?;
    let records: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let topic = format!("ceiling-{}", std::process::id());

    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin
        .create_topics(
            [&NewTopic::new(&topic, 5, TopicReplication::Fixed(1))],
            &options,
        )
        .await?
    {
        result.map_err(|(_, code)| format!("cannot create {topic}: {code}"))?;
    }

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create()?;
    let started = Instant::now();
    let mut deliveries = Vec::with_capacity(records);
    for n in 0..records {
        let key = format!("{n}created");
        let record = FutureRecord::to(&topic).key(&key).payload(RECORD);
        deliveries.push(producer.send_result(record).map_err(|(error, _)| error)?);
    }
    for delivery in deliveries {
        delivery.await?.map_err(|(error, _)| error)?;
    }
    let produce = started.elapsed();

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("{topic}-group"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&topic])?;
    let started = Instant::now();
    let mut consumed = 0;
    while consumed < records && started.elapsed() < Duration::from_secs(300) {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            message?;
            consumed += 1;
        }
    }
    let consume = started.elapsed();
    drop(consumer);
    let _ = admin.delete_topics(&[&topic], &options).await;
    println!(
        "{{\"records\": {records}, \"producePerSec\": {:.0}, \"consumePerSec\": {:.0}}}",
        records as f64 / produce.as_secs_f64(),
        consumed as f64 / consume.as_secs_f64()
    );
    Ok(())
}
