//! Fetch requests that wait for records the way Apache Kafka's do.
//!
//! A Kafka consumer keeps one fetch outstanding and asks the broker to hold it for up to
//! `max_wait_ms` (librdkafka: `fetch.wait.max.ms`, 500 ms) until `min_bytes` of records are there.
//! Apache Kafka answers the moment a produce request appends them. Tansu 0.6.0 reads the
//! partitions once and then sleeps half the wait (or all of it, when under 250 ms) whether or not
//! it found records: every fetch took 250 ms, and a record produced just after a fetch had read
//! its partition waited for that fetch and the next one. On the embedded default, copies were
//! about a second behind their orders (bench/RESULTS.md, "embedded default", before this module).
//!
//! So the fetch route is ours: it hands Tansu's own fetch the request with no wait, returns at
//! once when records (or an error) came back, and otherwise waits until a produce request has
//! appended something ([`Appended`]) or the consumer's wait is over, then reads again. The reads
//! themselves, the offsets and the answer's format stay Tansu's.

use std::time::Duration;

use rama::{Context, Service};
use tansu_sans_io::{FetchRequest, FetchResponse, ProduceRequest};
use tansu_storage::{FetchService, ProduceService, Storage};
use tokio::sync::watch;
use tokio::time::Instant;

/// Told whenever a produce request has appended records, so that waiting fetches read again.
#[derive(Debug, Clone)]
pub(crate) struct Appended(watch::Sender<u64>);

impl Appended {
    pub(crate) fn new() -> Self {
        Appended(watch::channel(0).0)
    }

    fn tell(&self) {
        self.0.send_modify(|count| *count = count.wrapping_add(1));
    }

    fn listen(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

/// Tansu's fetch, held until records are there or the consumer's `max_wait_ms` is over.
#[derive(Debug, Clone)]
pub(crate) struct LongPollFetch {
    pub(crate) appended: Appended,
}

impl<G: Storage> Service<G, FetchRequest> for LongPollFetch {
    type Response = FetchResponse;
    type Error = tansu_storage::Error;

    async fn serve(
        &self,
        ctx: Context<G>,
        request: FetchRequest,
    ) -> Result<FetchResponse, tansu_storage::Error> {
        let deadline = Instant::now() + wait_of(&request);
        let min_bytes = u64::try_from(request.min_bytes).unwrap_or(0).max(1);
        let mut appended = self.appended.listen();
        let mut read_at_once = request;
        read_at_once.max_wait_ms = 0;
        loop {
            // Marked before reading: a produce that lands during the read wakes the wait below.
            appended.borrow_and_update();
            let response = FetchService
                .serve(ctx.clone(), read_at_once.clone())
                .await?;
            if worth_answering(&response, min_bytes) || Instant::now() >= deadline {
                return Ok(response);
            }
            tokio::select! {
                changed = appended.changed() => {
                    if changed.is_err() {
                        return Ok(response);
                    }
                }
                () = tokio::time::sleep_until(deadline) => return Ok(response),
            }
        }
    }
}

/// How long the consumer lets the broker hold its fetch; a negative wait is no wait.
fn wait_of(request: &FetchRequest) -> Duration {
    Duration::from_millis(u64::try_from(request.max_wait_ms).unwrap_or(0))
}

/// Records of at least `min_bytes` in all, or a partition with an error the consumer must see.
fn worth_answering(response: &FetchResponse, min_bytes: u64) -> bool {
    let partitions = response
        .responses
        .iter()
        .flatten()
        .flat_map(|topic| topic.partitions.iter().flatten());
    let mut bytes = 0u64;
    for partition in partitions {
        if partition.error_code != 0 {
            return true;
        }
        bytes += partition
            .records
            .iter()
            .flat_map(|frame| &frame.batches)
            .map(|batch| u64::try_from(batch.batch_length).unwrap_or(0))
            .sum::<u64>();
    }
    bytes >= min_bytes || response.error_code.is_some_and(|code| code != 0)
}

/// Tansu's produce, which then tells waiting fetches that there may be records for them.
#[derive(Debug, Clone)]
pub(crate) struct TellingProduce {
    pub(crate) appended: Appended,
}

impl<G: Storage> Service<G, ProduceRequest> for TellingProduce {
    type Response = <ProduceService as Service<G, ProduceRequest>>::Response;
    type Error = tansu_storage::Error;

    async fn serve(
        &self,
        ctx: Context<G>,
        request: ProduceRequest,
    ) -> Result<Self::Response, tansu_storage::Error> {
        let produced = ProduceService.serve(ctx, request).await;
        // Told on failures too: part of a request may have been appended, and a needless
        // wake-up costs one read.
        self.appended.tell();
        produced
    }
}

#[cfg(test)]
mod tests {
    use tansu_sans_io::fetch_response::{FetchableTopicResponse, PartitionData};
    use tansu_sans_io::record::deflated::{Batch, Frame};

    use super::*;

    fn response_with(partitions: Vec<PartitionData>) -> FetchResponse {
        FetchResponse::default().responses(Some(vec![
            FetchableTopicResponse::default().partitions(Some(partitions)),
        ]))
    }

    fn batch_of(bytes: i32) -> Batch {
        Batch {
            batch_length: bytes,
            ..Batch::default()
        }
    }

    #[test]
    fn an_empty_read_is_not_worth_answering_before_the_wait_is_over() {
        // Arrange
        let empty = response_with(vec![
            PartitionData::default().partition_index(0),
            PartitionData::default()
                .partition_index(1)
                .records(Some(Frame { batches: vec![] })),
        ]);

        // Act
        let answer = worth_answering(&empty, 1);

        // Assert
        assert!(!answer);
    }

    #[test]
    fn records_on_any_partition_are_answered_once_they_reach_min_bytes() {
        // Arrange
        let some = response_with(vec![
            PartitionData::default().partition_index(0),
            PartitionData::default()
                .partition_index(3)
                .records(Some(Frame {
                    batches: vec![batch_of(100)],
                })),
        ]);

        // Act
        let answers = (worth_answering(&some, 1), worth_answering(&some, 101));

        // Assert
        assert_eq!(answers, (true, false));
    }

    #[test]
    fn a_partition_error_is_answered_at_once() {
        // Arrange
        let unknown = response_with(vec![PartitionData::default().error_code(3)]);

        // Act
        let answer = worth_answering(&unknown, 1);

        // Assert
        assert!(answer);
    }
}
