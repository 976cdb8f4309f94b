//! EventBridge Scheduler: one schedule per route, the role it assumes,
//! and the queue for what it could not deliver.

use super::{Input, RouteIn, SCHEDULER_RETRIES, get_att, int, list, logical, map, r, s};
use crate::deploy::yaml::Node;

pub(super) fn dead_letter_queue() -> Node {
    map([
        ("Type", s("AWS::SQS::Queue")),
        (
            "Properties",
            map([
                ("MessageRetentionPeriod", int(14 * 24 * 3600)),
                ("SqsManagedSseEnabled", Node::Bool(true)),
            ]),
        ),
    ])
}

pub(super) fn trust(service: &str, condition: Option<Node>) -> Node {
    let mut statement = vec![
        ("Effect", s("Allow")),
        ("Principal", map([("Service", s(service))])),
        ("Action", s("sts:AssumeRole")),
    ];
    statement.extend(condition.map(|c| ("Condition", c)));
    map([
        ("Version", s("2012-10-17")),
        ("Statement", list([map(statement)])),
    ])
}

/// What Scheduler assumes to deliver: invoke the route functions (and
/// nothing else), and drop what it could not deliver into the queue.
pub(super) fn scheduler_role(input: &Input) -> Node {
    let only_us = map([(
        "StringEquals",
        map([("aws:SourceAccount", r("AWS::AccountId"))]),
    )]);
    let functions = input
        .routes
        .iter()
        .map(|r| get_att(&logical(&r.name, "Function"), "Arn"));
    let allow = |action: &str, resource: Node| {
        map([
            ("Effect", s("Allow")),
            ("Action", s(action)),
            ("Resource", resource),
        ])
    };
    let policy = map([
        ("Version", s("2012-10-17")),
        (
            "Statement",
            list([
                allow("lambda:InvokeFunction", list(functions)),
                allow("sqs:SendMessage", get_att("DeadLetterQueue", "Arn")),
            ]),
        ),
    ]);
    map([
        ("Type", s("AWS::IAM::Role")),
        (
            "Properties",
            map([
                (
                    "AssumeRolePolicyDocument",
                    trust("scheduler.amazonaws.com", Some(only_us)),
                ),
                (
                    "Policies",
                    list([map([
                        ("PolicyName", s("deliver-nightshift-routes")),
                        ("PolicyDocument", policy),
                    ])]),
                ),
            ]),
        ),
    ])
}

pub(super) fn schedule(route: &RouteIn, function: &str, input: &Input) -> Node {
    let target = map([
        ("Arn", get_att(function, "Arn")),
        ("RoleArn", get_att("SchedulerRole", "Arn")),
        ("Input", s(input.scheduled_event.as_str())),
        (
            "RetryPolicy",
            map([
                ("MaximumRetryAttempts", int(SCHEDULER_RETRIES)),
                ("MaximumEventAgeInSeconds", int(route.max_age_secs)),
            ]),
        ),
        (
            "DeadLetterConfig",
            map([("Arn", get_att("DeadLetterQueue", "Arn"))]),
        ),
    ]);
    map([
        ("Type", s("AWS::Scheduler::Schedule")),
        (
            "Properties",
            map([
                (
                    "Description",
                    s(format!(
                        "{} at {} {} (vercel.json)",
                        route.path,
                        route.expr,
                        route.zone.name()
                    )),
                ),
                ("ScheduleExpression", s(route.eventbridge.as_str())),
                ("ScheduleExpressionTimezone", s(route.zone.name())),
                // Off: Nightshift dedupes deliveries by slot itself (docs/deploy/aws.md).
                ("FlexibleTimeWindow", map([("Mode", s("OFF"))])),
                ("State", s("ENABLED")),
                ("Target", target),
            ]),
        ),
    ])
}
