//! The group answers in the Kafka protocol's message types. Fields that only some protocol
//! versions carry are always filled; the encoder writes what the request's version has.

use tansu_sans_io::heartbeat_response::HeartbeatResponse;
use tansu_sans_io::join_group_response::{JoinGroupResponse, JoinGroupResponseMember};
use tansu_sans_io::leave_group_response::{LeaveGroupResponse, MemberResponse};
use tansu_sans_io::offset_commit_request::OffsetCommitRequestTopic;
use tansu_sans_io::offset_commit_response::{
    OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use tansu_sans_io::sync_group_response::SyncGroupResponse;
use tansu_sans_io::{Body, ErrorCode};
use tansu_storage::Topition;

use super::group::{Joined, Synced};

pub(super) fn join(joined: Joined) -> Body {
    JoinGroupResponse::default()
        .throttle_time_ms(Some(0))
        .error_code(joined.error.into())
        .generation_id(joined.generation)
        .protocol_type(joined.protocol_type)
        // Not nullable before v7.
        .protocol_name(Some(joined.protocol_name.unwrap_or_default()))
        .leader(joined.leader)
        .skip_assignment(Some(false))
        .member_id(joined.member_id)
        .members(Some(
            joined
                .members
                .into_iter()
                .map(|member| {
                    JoinGroupResponseMember::default()
                        .member_id(member.member_id)
                        .group_instance_id(member.instance_id)
                        .metadata(member.metadata)
                })
                .collect(),
        ))
        .into()
}

pub(super) fn sync(synced: Synced) -> Body {
    SyncGroupResponse::default()
        .throttle_time_ms(Some(0))
        .error_code(synced.error.into())
        .protocol_type(synced.protocol_type)
        .protocol_name(synced.protocol_name)
        .assignment(synced.assignment)
        .into()
}

pub(super) fn heartbeat(error: ErrorCode) -> Body {
    HeartbeatResponse::default()
        .throttle_time_ms(Some(0))
        .error_code(error.into())
        .into()
}

/// `leaving`: (member id, group instance id) as asked; `errors`: the outcome of each.
pub(super) fn leave(leaving: &[(&str, Option<&str>)], errors: &[ErrorCode]) -> Body {
    // v0-2 have one member and one error code; v3+ an error code per member.
    let top = match errors {
        [single] => *single,
        _ => ErrorCode::None,
    };
    LeaveGroupResponse::default()
        .throttle_time_ms(Some(0))
        .error_code(top.into())
        .members(Some(
            leaving
                .iter()
                .zip(errors)
                .map(|((member_id, instance_id), error)| {
                    MemberResponse::default()
                        .member_id((*member_id).to_owned())
                        .group_instance_id(instance_id.map(str::to_owned))
                        .error_code((*error).into())
                })
                .collect(),
        ))
        .into()
}

/// Every partition of the commit refused with `error`.
pub(super) fn offset_commit_refused(topics: &[OffsetCommitRequestTopic], error: ErrorCode) -> Body {
    let topics = topics
        .iter()
        .map(|topic| {
            OffsetCommitResponseTopic::default()
                .name(topic.name.clone())
                .partitions(Some(
                    topic
                        .partitions
                        .as_deref()
                        .unwrap_or_default()
                        .iter()
                        .map(|p| partition(p.partition_index, error))
                        .collect(),
                ))
        })
        .collect();
    OffsetCommitResponse::default()
        .throttle_time_ms(Some(0))
        .topics(Some(topics))
        .into()
}

/// The storage's outcome for each partition, grouped by topic.
pub(super) fn offset_commit(stored: &[(Topition, ErrorCode)]) -> Body {
    let mut topics: Vec<OffsetCommitResponseTopic> = Vec::new();
    for (topition, error) in stored {
        let answer = partition(topition.partition(), *error);
        match topics.iter_mut().find(|t| t.name == topition.topic()) {
            Some(topic) => topic.partitions.get_or_insert_default().push(answer),
            None => topics.push(
                OffsetCommitResponseTopic::default()
                    .name(topition.topic().to_owned())
                    .partitions(Some(vec![answer])),
            ),
        }
    }
    OffsetCommitResponse::default()
        .throttle_time_ms(Some(0))
        .topics(Some(topics))
        .into()
}

fn partition(index: i32, error: ErrorCode) -> OffsetCommitResponsePartition {
    OffsetCommitResponsePartition::default()
        .partition_index(index)
        .error_code(error.into())
}
