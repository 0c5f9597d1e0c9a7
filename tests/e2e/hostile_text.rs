//! Hostile text against every kind of free-text field: control characters
//! (NUL first: PostgreSQL refuses it), bidirectional overrides, text that
//! shows nothing, and line breaks in one-line fields are each
//! INVALID_ARGUMENT on the field, never INTERNAL; what is accepted is
//! stored normalized.

use anyhow::Result;
use petition_sdk::{Client, pb};
use petition_tests::*;

use crate::support::expect_invalid;

/// Values no text field takes.
const EVERYWHERE: [(&str, &str); 7] = [
    ("NUL", "路灯\0不亮"),
    ("BEL", "路灯\u{7}不亮"),
    ("escape", "路灯\u{1b}[31m不亮"),
    ("right-to-left override", "路灯\u{202E}不亮"),
    ("zero-width spaces only", "\u{200B}\u{200B}"),
    ("Hangul filler only", "\u{3164}"),
    ("byte order mark only", "\u{FEFF}"),
];

/// Values only a multi-line field takes.
const MULTI_LINE_ONLY: [(&str, &str); 3] =
    [("CRLF", "路灯\r\n不亮"), ("line separator", "路灯\u{2028}不亮"), ("paragraph separator", "路灯\u{2029}不亮")];

/// A field of a request and how to send a value in it.
#[derive(Debug, Clone, Copy)]
enum Field {
    Title,
    Content,
    Representative,
    FollowUpNote,
    DivertedTo,
    SimilarText,
    RegionName,
    OrganizationName,
    CategoryName,
    CalendarNote,
    RealName,
}

impl Field {
    fn path(self) -> &'static str {
        match self {
            Field::Title => "draft.title",
            Field::Content => "draft.content",
            Field::Representative => "group_visit.representatives[0].name",
            Field::FollowUpNote => "note",
            Field::DivertedTo => "diverted_to",
            Field::SimilarText => "text",
            Field::RegionName => "name",
            Field::OrganizationName => "name",
            Field::CategoryName => "category.name",
            Field::CalendarNote => "days[0].note",
            Field::RealName => "real_name",
        }
    }

    /// An optional field takes text that shows nothing: it is stored empty.
    fn optional(self) -> bool {
        matches!(self, Field::CalendarNote)
    }

    fn multi_line(self) -> bool {
        matches!(self, Field::Content | Field::FollowUpNote | Field::SimilarText)
    }
}

const FIELDS: [Field; 11] = [
    Field::Title,
    Field::Content,
    Field::Representative,
    Field::FollowUpNote,
    Field::DivertedTo,
    Field::SimilarText,
    Field::RegionName,
    Field::OrganizationName,
    Field::CategoryName,
    Field::CalendarNote,
    Field::RealName,
];

struct Lab {
    w: CaseWorld,
    anonymous: Client,
    routed: pb::Case,
    _server: TestServer,
}

/// Sends `value` in `field` of a request otherwise valid.
async fn send(lab: &Lab, field: Field, value: &str) -> petition_sdk::Result<()> {
    let w = &lab.w;
    let draft =
        || pb::CaseDraft { title: "路灯不亮".into(), content: "小区路灯坏了一个月".into(), ..claim("") };
    match field {
        Field::Title | Field::Content => {
            let mut draft = draft();
            if matches!(field, Field::Title) {
                draft.title = value.into();
            } else {
                draft.content = value.into();
            }
            let request = pb::SubmitCaseRequest { draft: Some(draft), ..Default::default() };
            w.owner.cases().submit_case(request).await.map(drop)
        }
        Field::Representative => w
            .clerk
            .cases()
            .register_case(pb::RegisterCaseRequest {
                draft: Some(draft()),
                channel: pb::CaseChannel::Visit.into(),
                petitioner_account_id: w.owner_id.clone(),
                group_visit: Some(pb::GroupVisit {
                    headcount: 6,
                    representatives: vec![pb::Representative { name: value.into(), phone: phone() }],
                }),
                request_id: String::new(),
            })
            .await
            .map(drop),
        Field::FollowUpNote => w
            .handler
            .cases()
            .add_follow_up(pb::AddFollowUpRequest {
                case_id: lab.routed.id.clone(),
                kind: pb::FollowUpKind::Contact.into(),
                note: value.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Field::DivertedTo => w
            .handler
            .cases()
            .decline_case(pb::DeclineCaseRequest {
                case_id: lab.routed.id.clone(),
                reason: pb::DeclineReason::Litigation.into(),
                diverted_to: value.into(),
                ..Default::default()
            })
            .await
            .map(drop),
        Field::SimilarText => w
            .clerk
            .cases()
            .find_similar_cases(pb::FindSimilarCasesRequest {
                query: Some(pb::find_similar_cases_request::Query::Text(value.into())),
                ..Default::default()
            })
            .await
            .map(drop),
        Field::RegionName => w
            .admin
            .directory()
            .create_region(pb::CreateRegionRequest {
                code: "360702002".into(),
                name: value.into(),
                level: pb::RegionLevel::Township.into(),
                parent_code: w.dir.county_a.code.clone(),
            })
            .await
            .map(drop),
        Field::OrganizationName => w
            .admin
            .directory()
            .create_organization(pb::CreateOrganizationRequest {
                name: value.into(),
                kind: pb::OrganizationKind::ResponsibleUnit.into(),
                region_code: w.dir.county_a.code.clone(),
                parent_organization_id: String::new(),
            })
            .await
            .map(drop),
        Field::CategoryName => w
            .admin
            .taxonomy()
            .create_category(pb::Category { code: "roads".into(), name: value.into(), retired: false })
            .await
            .map(drop),
        Field::CalendarNote => w
            .admin
            .calendar()
            .set_calendar_year(
                2030,
                vec![pb::CalendarDay {
                    date: "2030-01-01".into(),
                    kind: pb::CalendarDayKind::Holiday.into(),
                    note: value.into(),
                }],
            )
            .await
            .map(drop),
        Field::RealName => {
            let request = pb::RegisterCitizenRequest { real_name: value.into(), ..citizen_request("") };
            lab.anonymous.identity().register_citizen(request).await.map(drop)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_text_field_refuses_what_is_not_text_with_a_field_violation() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let anonymous = server.client().await?;
    let routed =
        w.owner.cases().submit_case(pb::SubmitCaseRequest { draft: Some(claim("漏水")), ..Default::default() }).await?;
    let routed = w
        .clerk
        .cases()
        .forward_case(pb::ForwardCaseRequest {
            case_id: routed.id.clone(),
            organization_id: w.dir.unit_a.id.clone(),
            ..Default::default()
        })
        .await?;
    let lab = Lab { w, anonymous, routed, _server: server };
    for field in FIELDS {
        let mut hostile = EVERYWHERE.to_vec();
        if !field.multi_line() {
            hostile.extend(MULTI_LINE_ONLY);
        }
        for (what, value) in hostile {
            if field.optional() && what.ends_with(" only") {
                continue;
            }
            let result = send(&lab, field, value).await;
            assert!(result.is_err(), "{field:?} took {what}");
            let error = expect_invalid(result, &[field.path()]);
            assert!(!error.message().contains("internal"), "{field:?} with {what}: {error}");
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_text_is_stored_normalized() -> Result<()> {
    let server = TestServer::spawn().await?;
    let w = CaseWorld::create(&server).await?;
    let case = w
        .owner
        .cases()
        .submit_case(pb::SubmitCaseRequest {
            draft: Some(pb::CaseDraft {
                // A decomposed é, and invisible ends.
                title: "\u{FEFF}Cafe\u{301} 门口积水\u{200B} ".into(),
                content: "第一段\r\n第二段\r第三段\u{2028}第四段".into(),
                ..claim("")
            }),
            ..Default::default()
        })
        .await?;
    assert_eq!(case.title, "Caf\u{e9} 门口积水");
    assert_eq!(case.content, "第一段\n第二段\n第三段\n第四段");
    Ok(())
}

/// `LoginRequest` with its login name as raw bytes: what a broken or
/// hostile client may send where a string belongs.
#[derive(Clone, PartialEq, prost::Message)]
struct RawLogin {
    #[prost(bytes = "vec", tag = "1")]
    login_name: Vec<u8>,
    #[prost(string, tag = "2")]
    password: String,
}

/// `CreateCategoryRequest { category: Category { code, name } }` with the
/// name as raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct RawCreateCategory {
    #[prost(message, optional, tag = "1")]
    category: Option<RawCategory>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct RawCategory {
    #[prost(string, tag = "1")]
    code: String,
    #[prost(bytes = "vec", tag = "2")]
    name: Vec<u8>,
}

/// Sends `message` to `path` as it is, with `token` if any.
async fn send_raw<M: prost::Message + Default + Send + Sync + 'static>(
    url: &str,
    path: &'static str,
    message: M,
    token: Option<String>,
) -> Result<tonic::Status> {
    let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?.connect().await?;
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await?;
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse()?);
    }
    let codec = tonic_prost::ProstCodec::<M, ()>::default();
    let answer = grpc.unary(request, tonic::codegen::http::uri::PathAndQuery::from_static(path), codec).await;
    answer.err().ok_or_else(|| anyhow::anyhow!("{path} took bytes that are not UTF-8"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_do_not_decode_are_invalid_argument_on_their_field() -> Result<()> {
    let server = TestServer::spawn().await?;
    let admin = server.admin().await?;
    let not_utf8 = vec![0xE8, 0xB7, 0xAF, 0xFF, 0xFE];

    let login = RawLogin { login_name: not_utf8.clone(), password: "whatever-password".into() };
    let refused = send_raw(&server.url, "/petition.v1.IdentityService/Login", login, None).await?;
    let violations = bad_request_fields(&refused);
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert_eq!(violations, ["login_name"], "{refused:?}");

    let category = RawCreateCategory { category: Some(RawCategory { code: "housing".into(), name: not_utf8 }) };
    let refused =
        send_raw(&server.url, "/petition.v1.TaxonomyService/CreateCategory", category, admin.access_token()).await?;
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    assert_eq!(bad_request_fields(&refused), ["category.name"], "{refused:?}");

    // Truncated bytes: the whole request is at fault.
    let truncated = RawLogin { login_name: b"x".repeat(300), password: String::new() };
    let mut bytes = prost::Message::encode_to_vec(&truncated);
    bytes.truncate(10);
    let refused = send_raw(&server.url, "/petition.v1.IdentityService/Login", Truncated(bytes), None).await?;
    assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{refused:?}");
    Ok(())
}

/// Bytes sent as they are, whatever they encode.
#[derive(Clone, PartialEq, Default)]
struct Truncated(Vec<u8>);

impl prost::Message for Truncated {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        buf.put_slice(&self.0);
    }
    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: prost::encoding::WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: prost::encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        prost::encoding::skip_field(wire_type, tag, buf, ctx)
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

fn bad_request_fields(status: &tonic::Status) -> Vec<String> {
    let error = petition_sdk::Error::from(status.clone());
    error.field_violations().into_iter().map(|v| v.field).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_with_control_characters_are_refused_on_their_field() -> Result<()> {
    let server = TestServer::spawn().await?;
    let anonymous = server.client().await?;
    for (what, name) in [("NUL", "admin\0"), ("escape", "ad\u{1b}min"), ("right-to-left override", "\u{202E}admin")] {
        let login = pb::LoginRequest { login_name: name.into(), password: "whatever-password".into() };
        let error = expect_invalid(anonymous.identity().login(login).await, &["login_name"]);
        assert!(!error.message().contains("internal"), "login with {what}: {error}");
        let exchange = anonymous
            .identity()
            .exchange_client_credentials(pb::ExchangeClientCredentialsRequest {
                client_id: name.into(),
                client_secret: "whatever-secret".into(),
                ..Default::default()
            })
            .await;
        expect_invalid(exchange, &["client_id"]);
        // Tokens are opaque: whatever they hold, a wrong one is just wrong.
        let refresh = anonymous.identity().refresh_token(name).await.err().map(|e| e.code());
        assert_eq!(refresh, Some(tonic::Code::Unauthenticated), "refresh with {what}");
    }
    Ok(())
}
