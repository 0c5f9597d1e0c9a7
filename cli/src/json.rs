//! Messages as protobuf JSON (the canonical mapping, with the .proto's
//! field names), for what has no flat shape: events and feed changes.

use std::sync::LazyLock;

use anyhow::{Context, Result};
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

static POOL: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(petition_proto::FILE_DESCRIPTOR_SET).map_err(|e| e.to_string()));

/// `message`, a `petition.v1.<name>`, as a JSON object.
pub fn to_json(message: &impl prost::Message, name: &str) -> Result<serde_json::Value> {
    let pool = POOL.as_ref().map_err(|e| anyhow::anyhow!("the petition.v1 descriptors: {e}"))?;
    let descriptor =
        pool.get_message_by_name(&format!("petition.v1.{name}")).with_context(|| format!("no message {name}"))?;
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())?;
    let options = SerializeOptions::new().use_proto_field_name(true).stringify_64_bit_integers(false);
    Ok(dynamic.serialize_with_options(serde_json::value::Serializer, &options)?)
}

#[cfg(test)]
mod tests {
    use petition_sdk::pb;

    use super::*;

    #[test]
    fn events_keep_proto_names_and_enum_names() -> Result<()> {
        let event = pb::CaseEvent {
            sequence: 3,
            r#type: pb::CaseEventType::Accepted.into(),
            time: Some(prost_types::Timestamp { seconds: 1_800_000_000, nanos: 0 }),
            detail: Some(pb::case_event::Detail::Accepted(pb::CaseAccepted {
                note: "受理".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let json = to_json(&event, "CaseEvent")?;
        assert_eq!(json["sequence"], 3);
        assert_eq!(json["type"], "CASE_EVENT_TYPE_ACCEPTED");
        assert_eq!(json["time"], "2027-01-15T08:00:00Z");
        assert_eq!(json["accepted"]["note"], "受理");
        Ok(())
    }
}
