//! The functions, their execution role, and the HTTP API in front of them.

use super::scheduler::trust;
use super::{
    LAMBDA_MAX_EVENT_AGE, LAMBDA_RETRIES, RouteIn, get_att, int, list, logical, map, r, s, sub,
};
use crate::deploy::yaml::Node;

/// Built by `sam build` with cargo-lambda (`cargo lambda build --release
/// --arm64 --bin <binary>`), from the workspace root two folders up.
fn function(binary: &str, timeout: u64, memory: i64, extra: Vec<(&str, Node)>) -> Node {
    let mut props = vec![
        (
            "FunctionName",
            sub(&format!("${{AWS::StackName}}-{binary}")),
        ),
        ("Timeout", int(timeout as i64)),
        ("MemorySize", int(memory)),
        ("Role", get_att("FunctionRole", "Arn")),
    ];
    props.extend(extra);
    map([
        ("Type", s("AWS::Serverless::Function")),
        (
            "Metadata",
            map([
                ("BuildMethod", s("rust-cargolambda")),
                ("BuildProperties", map([("Binary", s(binary))])),
            ]),
        ),
        ("Properties", map(props)),
    ])
}

pub(super) fn route_function(route: &RouteIn) -> Node {
    let invoke = map([
        ("MaximumRetryAttempts", int(LAMBDA_RETRIES)),
        (
            "MaximumEventAgeInSeconds",
            int(route.max_age_secs.min(LAMBDA_MAX_EVENT_AGE)),
        ),
    ]);
    function(
        &route.name,
        route.timeout_secs,
        512,
        vec![("EventInvokeConfig", invoke)],
    )
}

pub(super) fn status_function(timeout: u64) -> Node {
    // The status API checks the bearer or a signed session itself (README, "Security").
    let url = map([("AuthType", s("NONE"))]);
    function("status", timeout, 256, vec![("FunctionUrlConfig", url)])
}

pub(super) fn function_role() -> Node {
    // Logs only: the secret is resolved by CloudFormation, not read at run time.
    map([
        ("Type", s("AWS::IAM::Role")),
        (
            "Properties",
            map([
                (
                    "AssumeRolePolicyDocument",
                    trust("lambda.amazonaws.com", None),
                ),
                (
                    "ManagedPolicyArns",
                    list([sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                    )]),
                ),
            ]),
        ),
    ])
}

/// The default stage, deployed on every change: paths carry no stage name.
pub(super) fn http_api_stage() -> Node {
    map([
        ("Type", s("AWS::ApiGatewayV2::Stage")),
        (
            "Properties",
            map([
                ("ApiId", r("HttpApi")),
                ("StageName", s("$default")),
                ("AutoDeploy", Node::Bool(true)),
            ]),
        ),
    ])
}

pub(super) fn http_api() -> Node {
    map([
        ("Type", s("AWS::ApiGatewayV2::Api")),
        (
            "Properties",
            map([
                ("Name", sub("${AWS::StackName}")),
                ("ProtocolType", s("HTTP")),
            ]),
        ),
    ])
}

/// The HTTP API's integration of one function, its routes, and the
/// permission for API Gateway to invoke it.
pub(super) fn api_routes(name: &str, function: &str, keys: &[&str]) -> Vec<(String, Node)> {
    let integration = logical(name, "Integration");
    let mut out = vec![
        (
            integration.clone(),
            map([
                ("Type", s("AWS::ApiGatewayV2::Integration")),
                (
                    "Properties",
                    map([
                        ("ApiId", r("HttpApi")),
                        ("IntegrationType", s("AWS_PROXY")),
                        ("IntegrationUri", get_att(function, "Arn")),
                        ("PayloadFormatVersion", s("2.0")),
                    ]),
                ),
            ]),
        ),
        (
            logical(name, "ApiPermission"),
            map([
                ("Type", s("AWS::Lambda::Permission")),
                (
                    "Properties",
                    map([
                        ("Action", s("lambda:InvokeFunction")),
                        ("FunctionName", r(function)),
                        ("Principal", s("apigateway.amazonaws.com")),
                        (
                            "SourceArn",
                            sub(
                                "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*",
                            ),
                        ),
                    ]),
                ),
            ]),
        ),
    ];
    for (i, key) in keys.iter().enumerate() {
        out.push((
            logical(name, &format!("ApiRoute{}", i + 1)),
            map([
                ("Type", s("AWS::ApiGatewayV2::Route")),
                (
                    "Properties",
                    map([
                        ("ApiId", r("HttpApi")),
                        ("RouteKey", s(*key)),
                        ("Target", sub(&format!("integrations/${{{integration}}}"))),
                    ]),
                ),
            ]),
        ));
    }
    out
}
