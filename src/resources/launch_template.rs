//! The launch template of the container instances: the ECS-optimized AMI, the instance
//! profile, the security groups, and user data that joins the cluster. A change makes
//! a new version and makes it the default, which the Auto Scaling group launches.

use super::ec2_tags::spec;
use super::error::{cloud, found, gone, own};
use super::kind::{
    Change, Fields, Found, Owned, Replacement, Retry, no_live_outputs, ready_at_once,
};
use super::props::{applied, ordered_like};
use crate::aws::Clients;
use crate::provider::{Applied, CloudError, Target};
use crate::state::Entry;
use aws_sdk_ec2::types::{
    LaunchTemplateHttpTokensState, LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataOptionsRequest, LaunchTemplateTagSpecificationRequest,
    RequestLaunchTemplateData, ResourceType, Tag,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value as Json, json};
use std::time::Duration;

/// Launch template.
pub struct LaunchTemplate;

crate::props! {
    for LaunchTemplate;
    pub struct Props / Desired {
        pub name: String,
        pub image_id: String,
        pub instance_type: String,
        pub instance_profile_arn: String,
        pub security_group_ids: Vec<String>,
        pub key_name: Option<String>,
        pub user_data: String,
    }
}

const NOT_FOUND: &[&str] = &[
    "InvalidLaunchTemplateId.NotFound",
    "InvalidLaunchTemplateName.NotFoundException",
    "InvalidLaunchTemplateId.Malformed",
];

fn data(t: &Target, p: &Props) -> RequestLaunchTemplateData {
    let tags: Vec<Tag> = super::tags_for(t)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    RequestLaunchTemplateData::builder()
        .image_id(p.image_id.as_str())
        .instance_type(p.instance_type.as_str().into())
        .iam_instance_profile(
            LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
                .arn(p.instance_profile_arn.as_str())
                .build(),
        )
        .set_security_group_ids(Some(p.security_group_ids.clone()))
        .set_key_name(
            p.key_name
                .as_deref()
                .filter(|v| !v.is_empty())
                .map(str::to_string),
        )
        .user_data(STANDARD.encode(p.user_data.as_str()))
        // IMDSv2 only: containers must not read the instance's credentials with a plain GET.
        .metadata_options(
            LaunchTemplateInstanceMetadataOptionsRequest::builder()
                .http_tokens(LaunchTemplateHttpTokensState::Required)
                .http_put_response_hop_limit(1)
                .build(),
        )
        .tag_specifications(
            LaunchTemplateTagSpecificationRequest::builder()
                .resource_type(ResourceType::Instance)
                .set_tags(Some(tags))
                .build(),
        )
        .build()
}

impl Owned for LaunchTemplate {
    type Props = Props;
    const LABEL: &'static str = "launch template";
    const REPLACE_ON: &'static [&'static str] = &["name"];
    const REPLACEMENT: Replacement = Replacement::DeleteFirst;
    const KEEPS_REVISIONS: bool = false;

    async fn read(
        c: &Clients,
        id: &str,
        e: &Entry,
    ) -> Result<Option<Map<String, Json>>, CloudError> {
        let got = c
            .ec2
            .describe_launch_template_versions()
            .launch_template_id(&e.physical_id)
            .versions("$Default")
            .send()
            .await;
        let Some(got) = found(got, NOT_FOUND, id, "DescribeLaunchTemplateVersions")? else {
            return Ok(None);
        };
        let Some(v) = got.launch_template_versions().first() else {
            return Ok(None);
        };
        let d = v.launch_template_data();
        let user_data = d
            .and_then(|d| d.user_data())
            .and_then(|u| STANDARD.decode(u).ok())
            .and_then(|b| String::from_utf8(b).ok());
        let groups: Vec<Json> = d
            .map(|d| d.security_group_ids().iter().map(|g| json!(g)).collect())
            .unwrap_or_default();
        Ok(Some(super::props::outputs(&[
            ("name", json!(v.launch_template_name())),
            ("image_id", json!(d.and_then(|d| d.image_id()))),
            (
                "instance_type",
                json!(d.and_then(|d| d.instance_type()).map(|t| t.as_str())),
            ),
            (
                "instance_profile_arn",
                json!(
                    d.and_then(|d| d.iam_instance_profile())
                        .and_then(|i| i.arn())
                ),
            ),
            (
                "security_group_ids",
                ordered_like(groups, e.props.get("security_group_ids")),
            ),
            ("key_name", json!(d.and_then(|d| d.key_name()))),
            ("user_data", json!(user_data)),
        ])))
    }

    async fn create(c: &Clients, t: &Target, p: &Props) -> Result<Applied, CloudError> {
        let found_tagged = crate::ec2_earlier!(
            c,
            t,
            describe_launch_templates,
            DescribeLaunchTemplatesOutput,
            "DescribeLaunchTemplates"
        )?;
        if let Some(lt) = found_tagged.launch_templates().first() {
            let id = lt.launch_template_id().unwrap_or_default().to_string();
            let e = Entry {
                kind: t.kind,
                physical_id: id.clone(),
                props: Json::Null,
                outputs: Map::new(),
                deps: Vec::new(),
                revisions: Vec::new(),
                incomplete: false,
            };
            return Self::update(c, t, &e, p).await;
        }
        let out = c
            .ec2
            .create_launch_template()
            .launch_template_name(p.name.as_str())
            .launch_template_data(data(t, p))
            .tag_specifications(spec(ResourceType::LaunchTemplate, t, None))
            .send()
            .await
            .map_err(|e| cloud(&t.id, "CreateLaunchTemplate", e))?;
        let lt = out.launch_template().ok_or_else(|| {
            own(
                &t.id,
                "CreateLaunchTemplate",
                "AWS returned no template",
                "run the command again",
            )
        })?;
        let id = lt.launch_template_id().unwrap_or_default();
        applied(
            id,
            &[
                ("id", json!(id)),
                ("name", json!(lt.launch_template_name())),
            ],
        )
    }

    async fn update(c: &Clients, t: &Target, e: &Entry, p: &Props) -> Result<Applied, CloudError> {
        let out = c
            .ec2
            .create_launch_template_version()
            .launch_template_id(&e.physical_id)
            .launch_template_data(data(t, p))
            .send()
            .await
            .map_err(|err| cloud(&t.id, "CreateLaunchTemplateVersion", err))?;
        let version = out
            .launch_template_version()
            .and_then(|v| v.version_number())
            .unwrap_or_default();
        c.ec2
            .modify_launch_template()
            .launch_template_id(&e.physical_id)
            .default_version(version.to_string())
            .send()
            .await
            .map_err(|err| cloud(&t.id, "ModifyLaunchTemplate", err))?;
        applied(
            &e.physical_id,
            &[
                ("id", json!(e.physical_id)),
                ("name", json!(p.name.as_str())),
            ],
        )
    }

    async fn delete(c: &Clients, t: &Target, e: &Entry) -> Result<(), CloudError> {
        let r = c
            .ec2
            .delete_launch_template()
            .launch_template_id(&e.physical_id)
            .send()
            .await;
        gone(r, NOT_FOUND, &t.id, "DeleteLaunchTemplate")
    }

    async fn wait_ready(
        _c: &Clients,
        _t: &Target,
        _a: &Applied,
        _timeout: Duration,
    ) -> Result<(), CloudError> {
        ready_at_once().await
    }

    async fn live_outputs(_c: &Clients, _id: &str, _e: &Entry) -> Result<Fields, CloudError> {
        no_live_outputs().await
    }

    async fn discover(c: &Clients, stack: &str) -> Result<Vec<Found>, CloudError> {
        crate::ec2_discover!(
            c,
            stack,
            describe_launch_templates,
            "DescribeLaunchTemplates",
            launch_templates,
            launch_template_id,
            |r: &aws_sdk_ec2::types::LaunchTemplate| [
                ("id", json!(r.launch_template_id())),
                ("name", json!(r.launch_template_name()))
            ]
        )
    }

    fn classify(_e: &CloudError) -> Retry {
        Retry::No
    }

    fn fresh_name(_p: &mut Props, _suffix: &str) {}

    fn plan_note(_change: Change, _e: Option<&Entry>) -> Option<String> {
        None
    }
}
