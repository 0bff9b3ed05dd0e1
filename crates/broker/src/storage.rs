//! The broker's storage: Tansu's SQLite storage, with produced batches appended by
//! [`Appender`] and fetched records read by [`Reader`] instead (same tables, statements
//! prepared once).
//!
//! The appender and the reader have a connection each, and Tansu's storage worker serves
//! everything else with its own. Reads may overlap the appender's writes (the file is in WAL mode, and
//! a fetch reads records only below the high watermark, which moves in the same transaction as
//! they are written). Two writers may not overlap: Tansu sets no busy timeout, so a write of its
//! would fail at once with `SQLITE_BUSY` while the appender holds the file's write lock. Every
//! request that may write through Tansu therefore takes the same lock as the appender first. The
//! `Storage` trait has no default for any request but `maintain`, so each says below which it is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tansu_sans_io::create_topics_request::CreatableTopic;
use tansu_sans_io::delete_groups_response::DeletableGroupResult;
use tansu_sans_io::delete_records_request::DeleteRecordsTopic;
use tansu_sans_io::delete_records_response::DeleteRecordsTopicResult;
use tansu_sans_io::describe_cluster_response::DescribeClusterBroker;
use tansu_sans_io::describe_configs_response::DescribeConfigsResult;
use tansu_sans_io::describe_topic_partitions_response::DescribeTopicPartitionsResponseTopic;
use tansu_sans_io::incremental_alter_configs_request::AlterConfigsResource;
use tansu_sans_io::incremental_alter_configs_response::AlterConfigsResourceResponse;
use tansu_sans_io::list_groups_response::ListedGroup;
use tansu_sans_io::record::deflated;
use tansu_sans_io::txn_offset_commit_response::TxnOffsetCommitResponseTopic;
use tansu_sans_io::{ConfigResource, ErrorCode, IsolationLevel, ListOffset, ScramMechanism};
use tansu_storage::{
    BrokerRegistrationRequest, GroupDetail, ListOffsetResponse, MetadataResponse, NamedGroupDetail,
    OffsetCommitRequest, OffsetStage, ProducerIdResponse, Result, ScramCredential, Storage,
    StorageContainer, TopicId, Topition, TxnAddPartitionsRequest, TxnAddPartitionsResponse,
    TxnOffsetCommitRequest, UpdateError, Version,
};
use tokio::sync::Mutex;
use url::Url;
use uuid::Uuid;

use crate::append::Appender;
use crate::read::Reader;

/// Tansu's storage, our appender behind the one write lock, and our reader.
#[derive(Clone, Debug)]
pub(crate) struct BrokerStorage {
    tansu: StorageContainer,
    /// Held by whoever writes: the appender, or a request Tansu may write for.
    writer: Arc<Mutex<Appender>>,
    reader: Arc<Mutex<Reader>>,
}

impl BrokerStorage {
    pub(crate) fn new(tansu: StorageContainer, appender: Appender, reader: Reader) -> Self {
        BrokerStorage {
            tansu,
            writer: Arc::new(Mutex::new(appender)),
            reader: Arc::new(Mutex::new(reader)),
        }
    }

    /// Waits until nobody else writes, then lets Tansu write.
    async fn tansu_writing(&self) -> tokio::sync::MutexGuard<'_, Appender> {
        self.writer.lock().await
    }
}

#[async_trait]
impl Storage for BrokerStorage {
    async fn produce(
        &self,
        transaction_id: Option<&str>,
        topition: &Topition,
        batch: deflated::Batch,
    ) -> Result<i64> {
        let appender = self.writer.lock().await;
        if transaction_id.is_none() && !batch.is_idempotent() && !batch.is_transactional() {
            appender.append(topition, batch).await
        } else {
            // Sequence numbers and transactions are Tansu's to check.
            self.tansu.produce(transaction_id, topition, batch).await
        }
    }

    // Requests that only read.

    async fn brokers(&self) -> Result<Vec<DescribeClusterBroker>> {
        self.tansu.brokers().await
    }

    /// Both isolation levels read up to the high watermark, as with Tansu (`Reader::offset_stage`).
    /// The minimum is for the fetch service to wait for (`crate::long_poll`).
    async fn fetch(
        &self,
        topition: &'_ Topition,
        offset: i64,
        _min_bytes: u32,
        max_bytes: u32,
        _isolation: IsolationLevel,
    ) -> Result<Vec<deflated::Batch>> {
        let reader = self.reader.lock().await;
        reader.fetch(topition, offset, max_bytes).await
    }

    async fn offset_stage(&self, topition: &Topition) -> Result<OffsetStage> {
        let reader = self.reader.lock().await;
        reader.offset_stage(topition).await
    }

    async fn list_offsets(
        &self,
        isolation_level: IsolationLevel,
        offsets: &[(Topition, ListOffset)],
    ) -> Result<Vec<(Topition, ListOffsetResponse)>> {
        self.tansu.list_offsets(isolation_level, offsets).await
    }

    async fn offset_fetch(
        &self,
        group_id: Option<&str>,
        topics: &[Topition],
        require_stable: Option<bool>,
    ) -> Result<BTreeMap<Topition, i64>> {
        self.tansu
            .offset_fetch(group_id, topics, require_stable)
            .await
    }

    async fn committed_offset_topitions(&self, group_id: &str) -> Result<BTreeMap<Topition, i64>> {
        self.tansu.committed_offset_topitions(group_id).await
    }

    async fn metadata(&self, topics: Option<&[TopicId]>) -> Result<MetadataResponse> {
        self.tansu.metadata(topics).await
    }

    async fn user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<Option<ScramCredential>> {
        self.tansu.user_scram_credential(user, mechanism).await
    }

    async fn describe_config(
        &self,
        name: &str,
        resource: ConfigResource,
        keys: Option<&[String]>,
    ) -> Result<DescribeConfigsResult> {
        self.tansu.describe_config(name, resource, keys).await
    }

    async fn list_groups(&self, states_filter: Option<&[String]>) -> Result<Vec<ListedGroup>> {
        self.tansu.list_groups(states_filter).await
    }

    async fn describe_groups(
        &self,
        group_ids: Option<&[String]>,
        include_authorized_operations: bool,
    ) -> Result<Vec<NamedGroupDetail>> {
        self.tansu
            .describe_groups(group_ids, include_authorized_operations)
            .await
    }

    async fn describe_topic_partitions(
        &self,
        topics: Option<&[TopicId]>,
        partition_limit: i32,
        cursor: Option<Topition>,
    ) -> Result<Vec<DescribeTopicPartitionsResponseTopic>> {
        self.tansu
            .describe_topic_partitions(topics, partition_limit, cursor)
            .await
    }

    async fn cluster_id(&self) -> Result<String> {
        self.tansu.cluster_id().await
    }

    async fn node(&self) -> Result<i32> {
        self.tansu.node().await
    }

    async fn advertised_listener(&self) -> Result<Url> {
        self.tansu.advertised_listener().await
    }

    async fn ping(&self) -> Result<()> {
        self.tansu.ping().await
    }

    // Requests Tansu may write for.

    async fn register_broker(&self, broker_registration: BrokerRegistrationRequest) -> Result<()> {
        let _writing = self.tansu_writing().await;
        self.tansu.register_broker(broker_registration).await
    }

    async fn create_topic(&self, topic: CreatableTopic, validate_only: bool) -> Result<Uuid> {
        let _writing = self.tansu_writing().await;
        self.tansu.create_topic(topic, validate_only).await
    }

    async fn incremental_alter_resource(
        &self,
        resource: AlterConfigsResource,
    ) -> Result<AlterConfigsResourceResponse> {
        let _writing = self.tansu_writing().await;
        self.tansu.incremental_alter_resource(resource).await
    }

    async fn delete_records(
        &self,
        topics: &[DeleteRecordsTopic],
    ) -> Result<Vec<DeleteRecordsTopicResult>> {
        let _writing = self.tansu_writing().await;
        self.tansu.delete_records(topics).await
    }

    async fn delete_topic(&self, topic: &TopicId) -> Result<ErrorCode> {
        let _writing = self.tansu_writing().await;
        self.tansu.delete_topic(topic).await
    }

    async fn offset_commit(
        &self,
        group_id: &str,
        retention_time_ms: Option<Duration>,
        offsets: &[(Topition, OffsetCommitRequest)],
    ) -> Result<Vec<(Topition, ErrorCode)>> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .offset_commit(group_id, retention_time_ms, offsets)
            .await
    }

    async fn upsert_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
        credential: ScramCredential,
    ) -> Result<()> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .upsert_user_scram_credential(user, mechanism, credential)
            .await
    }

    async fn delete_user_scram_credential(
        &self,
        user: &str,
        mechanism: ScramMechanism,
    ) -> Result<()> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .delete_user_scram_credential(user, mechanism)
            .await
    }

    async fn delete_groups(
        &self,
        group_ids: Option<&[String]>,
    ) -> Result<Vec<DeletableGroupResult>> {
        let _writing = self.tansu_writing().await;
        self.tansu.delete_groups(group_ids).await
    }

    async fn update_group(
        &self,
        group_id: &str,
        detail: GroupDetail,
        version: Option<Version>,
    ) -> Result<Version, UpdateError<GroupDetail>> {
        let _writing = self.tansu_writing().await;
        self.tansu.update_group(group_id, detail, version).await
    }

    async fn init_producer(
        &self,
        transaction_id: Option<&str>,
        transaction_timeout_ms: i32,
        producer_id: Option<i64>,
        producer_epoch: Option<i16>,
    ) -> Result<ProducerIdResponse> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .init_producer(
                transaction_id,
                transaction_timeout_ms,
                producer_id,
                producer_epoch,
            )
            .await
    }

    async fn txn_add_offsets(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        group_id: &str,
    ) -> Result<ErrorCode> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .txn_add_offsets(transaction_id, producer_id, producer_epoch, group_id)
            .await
    }

    async fn txn_add_partitions(
        &self,
        partitions: TxnAddPartitionsRequest,
    ) -> Result<TxnAddPartitionsResponse> {
        let _writing = self.tansu_writing().await;
        self.tansu.txn_add_partitions(partitions).await
    }

    async fn txn_offset_commit(
        &self,
        offsets: TxnOffsetCommitRequest,
    ) -> Result<Vec<TxnOffsetCommitResponseTopic>> {
        let _writing = self.tansu_writing().await;
        self.tansu.txn_offset_commit(offsets).await
    }

    async fn txn_end(
        &self,
        transaction_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committed: bool,
    ) -> Result<ErrorCode> {
        let _writing = self.tansu_writing().await;
        self.tansu
            .txn_end(transaction_id, producer_id, producer_epoch, committed)
            .await
    }

    async fn maintain(&self, now: SystemTime) -> Result<()> {
        let _writing = self.tansu_writing().await;
        self.tansu.maintain(now).await
    }
}
