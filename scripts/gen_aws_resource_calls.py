#!/usr/bin/env python3
"""Generates appliers/aws_resource_calls.cc: per AWS write operation, the resource it acts on.

Reads the service models Debian's python3-botocore ships (AWS's own description of every
operation, its input and output shapes) and the AWS Config service model's ResourceType enum
(AWS's list of Config resource type names), and derives for every operation that is not
read-only:

- the action, from the operation's verb and whether its noun is the resource itself:
  Create<R>/Run/Allocate/Register/Import/... make R exist (create); Delete<R>/Terminate/Release/
  Deregister/... remove it (delete); Put<R> creates or changes it (upsert); Tag*/Untag*/
  AddTags*/RemoveTags*/CreateTags/DeleteTags change its tags; every other write changes it
  (Delete<R>Policy, Put<R>Value, AddPermission, Update<R>Code ...); calls on S3 objects are noted
  in their bucket's history;
- the resource type, in AWS Config / CloudFormation naming: AWS::<Namespace>::<Noun>, the
  namespace matched against Config's type names (serviceId, endpoint prefix, signing name), the
  noun spelt as Config spells it when Config knows the type (AWS::EC2::VPC for "Vpc");
- the request and response members holding the resource's id, name or ARN: members named
  <Noun>Id/Name/Arn/Identifier (also Target<Noun>..., and bare Name/Id/Arn), in the key
  CloudTrail writes (lowerCamel wire name);
- account-level settings (a write with no identifier member at all: PutAccountPublicAccessBlock,
  EnableEbsEncryptionByDefault) act on a resource keyed by the account id;
- calls that change no resource say why (NONE below: sessions, sign-in, cryptographic and
  data-plane operations, model-access agreements).

Calls CloudTrail records that this botocore does not describe (sign-in, services newer than the
Debian package) come from EXTRA_CALLS. Hand-written appliers (appliers/applier_*.cc) take
precedence over the table at run time.

Usage: scripts/gen_aws_resource_calls.py [BOTOCORE_DATA_DIR] > appliers/aws_resource_calls.cc
Unresolved write operations are listed on stderr with --report. The generated file is
committed; building driftwatch does not need botocore. See doc/resource_calls.md.
"""
import json
import os
import re
import sys

DEFAULT_DATA = "/usr/lib/python3/dist-packages/botocore/data"

READ_PREFIXES = ("Describe", "Get", "List", "Head", "Search", "Lookup", "Query", "Scan",
                 "BatchGet", "Select", "Check", "Validate", "Estimate", "Preview", "Simulate",
                 "Test", "Poll", "Receive", "Download", "View", "Filter", "Detect", "Export",
                 "Verify", "Count", "Calculate", "Discover")
CREATE_VERBS = {"Create", "Run", "Allocate", "Import", "Launch", "Register", "Copy", "Purchase",
                "Provision", "Request", "Restore", "Clone", "Issue"}
DELETE_VERBS = {"Delete", "Terminate", "Release", "Deregister", "Deprovision", "Remove",
                "Destroy", "Decommission", "Unregister"}
TAG_OPS = re.compile(r"^(Tag[A-Z]\w*|AddTags\w*|CreateTags|TagResource)$")
UNTAG_OPS = re.compile(r"^(Untag\w*|RemoveTags\w*|DeleteTags|UntagResource)$")
# Most specific first: a name is what other calls (and ARNs) name the resource by.
ID_SUFFIXES = ("Names", "Name", "Identifiers", "Identifier", "Ids", "Id", "Arns", "Arn", "ARNs",
               "ARN", "Url")
ARN_MEMBERS = ("ResourceArn", "ResourceARN", "Resource", "ResourceId", "ResourceName", "Arn",
               "ARN", "ResourceArns", "ResourceIdList", "ResourceId", "Resources")

# Calls that change no resource, with why. (eventSource prefix, operation or "*")
NONE = {
    ("sts", "*"): "issues temporary credentials (a session), changes no resource",
    ("sso", "*"): "single sign-on session",
    ("sso-oidc", "*"): "single sign-on session",
    ("signin", "*"): "console sign-in",
    ("ssmmessages", "*"): "Session Manager channel (a session)",
    ("ec2messages", "*"): "Systems Manager agent messaging",
    ("kms", "Encrypt"): "cryptographic operation",
    ("kms", "Decrypt"): "cryptographic operation",
    ("kms", "ReEncrypt"): "cryptographic operation",
    ("kms", "GenerateDataKey"): "cryptographic operation",
    ("kms", "GenerateDataKeyPair"): "cryptographic operation",
    ("kms", "GenerateDataKeyPairWithoutPlaintext"): "cryptographic operation",
    ("kms", "GenerateDataKeyWithoutPlaintext"): "cryptographic operation",
    ("kms", "GenerateMac"): "cryptographic operation",
    ("kms", "GenerateRandom"): "cryptographic operation",
    ("kms", "Sign"): "cryptographic operation",
    ("sns", "Publish"): "data plane: a message",
    ("sns", "PublishBatch"): "data plane: messages",
    ("sqs", "SendMessage"): "data plane: a message",
    ("sqs", "SendMessageBatch"): "data plane: messages",
    ("sqs", "DeleteMessage"): "data plane: a message",
    ("sqs", "DeleteMessageBatch"): "data plane: messages",
    ("sqs", "ChangeMessageVisibility"): "data plane: a message",
    ("sqs", "ChangeMessageVisibilityBatch"): "data plane: messages",
    ("kinesis", "PutRecord"): "data plane: a record",
    ("kinesis", "PutRecords"): "data plane: records",
    ("firehose", "PutRecord"): "data plane: a record",
    ("firehose", "PutRecordBatch"): "data plane: records",
    ("logs", "PutLogEvents"): "data plane: log events",
    ("logs", "StartQuery"): "a query",
    ("logs", "StopQuery"): "a query",
    ("monitoring", "PutMetricData"): "data plane: metrics",
    ("events", "PutEvents"): "data plane: events",
    ("xray", "PutTraceSegments"): "data plane: traces",
    ("xray", "PutTelemetryRecords"): "data plane: telemetry",
    ("dynamodb", "PutItem"): "data plane: an item",
    ("ingest.timestream", "WriteRecords"): "data plane: records",
    ("timestream", "WriteRecords"): "data plane: records",
    ("dynamodb", "UpdateItem"): "data plane: an item",
    ("dynamodb", "DeleteItem"): "data plane: an item",
    ("dynamodb", "BatchWriteItem"): "data plane: items",
    ("dynamodb", "TransactWriteItems"): "data plane: items",
    ("dynamodb", "ExecuteStatement"): "data plane: a statement",
    ("dynamodb", "BatchExecuteStatement"): "data plane: statements",
    ("dynamodb", "ExecuteTransaction"): "data plane: a transaction",
    ("athena", "StartQueryExecution"): "a query",
    ("athena", "StopQueryExecution"): "a query",
    ("config", "PutEvaluations"): "reports rule evaluations (compliance), not configuration",
    ("securityhub", "BatchImportFindings"): "findings, not configuration",
    ("securityhub", "BatchUpdateFindings"): "findings, not configuration",
    ("securityhub", "UpdateFindings"): "findings, not configuration",
    ("ssm", "UpdateInstanceInformation"): "agent heartbeat",
    ("ssm", "PutInventory"): "agent inventory report",
    ("ssm", "PutComplianceItems"): "compliance report",
    ("ssm", "StartSession"): "a session",
    ("ssm", "ResumeSession"): "a session",
    ("ssm", "TerminateSession"): "a session",
    ("iam", "ChangePassword"): "the caller's own password (a sign-in credential)",
    ("cognito-identity", "GetId"): "a session",
    ("codecommit", "GitPush"): "data plane: a push",
    ("bedrock", "PutUseCaseForModelAccess"): "model-access form, not a resource",
    ("bedrock", "CreateFoundationModelAgreement"): "model-access agreement, not a resource",
    ("bedrock", "DeleteFoundationModelAgreement"): "model-access agreement, not a resource",
    ("bedrock", "InvokeModel"): "data plane: a model invocation",
    ("bedrock", "InvokeModelWithResponseStream"): "data plane: a model invocation",
    ("bedrock", "Converse"): "data plane: a model invocation",
    ("bedrock", "ConverseStream"): "data plane: a model invocation",
    ("billingconsole", "*"): "billing console settings of the payer",
    ("organizations", "CreateAccountResult"): "service event reporting an account's creation",
}

# Calls CloudTrail records that this botocore version has no model for (services newer than
# Debian's package), in the same derived shape: (eventSource prefix, name, type, action,
# request members, response members).
EXTRA_CALLS = [
    ("bedrock", "CreateGuardrail", "AWS::Bedrock::Guardrail", "create", "name", "guardrailId|guardrailArn"),
    ("bedrock", "UpdateGuardrail", "AWS::Bedrock::Guardrail", "update", "guardrailIdentifier", "guardrailId|guardrailArn"),
    ("bedrock", "DeleteGuardrail", "AWS::Bedrock::Guardrail", "delete", "guardrailIdentifier", ""),
    ("bedrock", "CreateAgent", "AWS::Bedrock::Agent", "create", "agentName", "agentId|agentArn"),
    ("bedrock", "DeleteAgent", "AWS::Bedrock::Agent", "delete", "agentId", ""),
    ("bedrock", "CreateKnowledgeBase", "AWS::Bedrock::KnowledgeBase", "create", "name", "knowledgeBaseId|knowledgeBaseArn"),
    ("bedrock", "DeleteKnowledgeBase", "AWS::Bedrock::KnowledgeBase", "delete", "knowledgeBaseId", ""),
    ("bedrock", "CreateModelCustomizationJob", "AWS::Bedrock::ModelCustomizationJob", "create", "jobName", "jobArn"),
    ("bedrock", "CreateProvisionedModelThroughput", "AWS::Bedrock::ProvisionedModelThroughput", "create", "provisionedModelName", "provisionedModelArn"),
    ("bedrock", "DeleteProvisionedModelThroughput", "AWS::Bedrock::ProvisionedModelThroughput", "delete", "provisionedModelId", ""),
    ("bedrock", "PutModelInvocationLoggingConfiguration", "AWS::Bedrock::ModelInvocationLoggingConfiguration", "account", "", ""),
    ("bedrock", "DeleteModelInvocationLoggingConfiguration", "AWS::Bedrock::ModelInvocationLoggingConfiguration", "account", "", ""),
    ("bedrock", "TagResource", "", "tag", "resourceARN", ""),
    ("rds", "DeleteDBClusterAutomatedBackup", "AWS::RDS::DBClusterAutomatedBackup", "delete", "dbClusterResourceId", ""),
    # S3 Control's PutPublicAccessBlock / DeletePublicAccessBlock as CloudTrail names them.
    ("s3", "PutAccountPublicAccessBlock", "AWS::S3::AccountPublicAccessBlock", "account", "", ""),
    ("s3", "DeleteAccountPublicAccessBlock", "AWS::S3::AccountPublicAccessBlock", "account", "", ""),
    ("bedrock", "UntagResource", "", "untag", "resourceARN", ""),
]

# Operations whose resource the model's names do not say: (prefix, operation) -> (type,
# action, request members, response members).
OVERRIDES = {
    ("ec2", "AllocateAddress"): ("AWS::EC2::EIP", "create", "", "allocationId|publicIp"),
    ("ec2", "ReleaseAddress"): ("AWS::EC2::EIP", "delete", "allocationId|publicIp", ""),
    ("ec2", "AssociateAddress"): ("AWS::EC2::EIP", "update", "allocationId|publicIp", ""),
    ("ec2", "DisassociateAddress"): ("AWS::EC2::EIP", "update", "associationId|publicIp", ""),
    ("ec2", "CreateKeyPair"): ("AWS::EC2::KeyPair", "create", "keyName", "keyName"),
    ("ec2", "DeleteKeyPair"): ("AWS::EC2::KeyPair", "delete", "keyName|keyPairId", ""),
    ("ec2", "ImportKeyPair"): ("AWS::EC2::KeyPair", "create", "keyName", "keyName"),
    ("ec2", "DetachNetworkInterface"): ("AWS::EC2::NetworkInterface", "note", "attachmentId", ""),
    ("ec2", "DisassociateRouteTable"): ("AWS::EC2::RouteTable", "note", "associationId", ""),
    ("ssm", "SendCommand"): ("AWS::EC2::Instance", "note", "instanceIds|instanceId", ""),
    ("ec2-instance-connect", "SendSSHPublicKey"): ("AWS::EC2::Instance", "note", "instanceId", ""),
    ("ec2-instance-connect", "SendSerialConsoleSSHPublicKey"): ("AWS::EC2::Instance", "note", "instanceId", ""),
    ("lambda", "CreateEventSourceMapping"): ("AWS::Lambda::EventSourceMapping", "create", "", "uUID"),
    ("lambda", "UpdateEventSourceMapping"): ("AWS::Lambda::EventSourceMapping", "update", "uUID", ""),
    ("lambda", "DeleteEventSourceMapping"): ("AWS::Lambda::EventSourceMapping", "delete", "uUID", ""),
    ("lambda", "Invoke"): ("AWS::Lambda::Function", "note", "functionName", ""),
    ("lambda", "InvokeAsync"): ("AWS::Lambda::Function", "note", "functionName", ""),
    ("lambda", "InvokeWithResponseStream"): ("AWS::Lambda::Function", "note", "functionName", ""),
    ("iam", "TagMFADevice"): ("AWS::IAM::VirtualMFADevice", "tag", "serialNumber", ""),
    ("iam", "UntagMFADevice"): ("AWS::IAM::VirtualMFADevice", "untag", "serialNumber", ""),
    ("iam", "CreateVirtualMFADevice"): ("AWS::IAM::VirtualMFADevice", "create", "", "serialNumber"),
    ("iam", "DeleteVirtualMFADevice"): ("AWS::IAM::VirtualMFADevice", "delete", "serialNumber", ""),
    ("rds", "StartActivityStream"): ("", "update", "resourceArn", ""),
    ("rds", "StopActivityStream"): ("", "update", "resourceArn", ""),
    ("rds", "ModifyActivityStream"): ("", "update", "resourceArn", ""),
    ("rds", "ApplyPendingMaintenanceAction"): ("", "update", "resourceIdentifier", ""),
    ("rds", "DeleteDBInstanceAutomatedBackup"): ("AWS::RDS::DBInstanceAutomatedBackup", "delete",
                                                  "dbiResourceId|dBInstanceAutomatedBackupsArn", ""),
    ("rds", "DeleteDBClusterAutomatedBackup"): ("AWS::RDS::DBClusterAutomatedBackup", "delete",
                                                 "dbClusterResourceId", ""),
}
NONE.update({
    ("iam", "GenerateCredentialReport"): "a report",
    ("iam", "GenerateOrganizationsAccessReport"): "a report",
    ("iam", "GenerateServiceLastAccessedDetails"): "a report",
    ("iam", "SetSecurityTokenServicePreferences"): "account-wide STS setting",
    ("s3", "WriteGetObjectResponse"): "data plane: an Object Lambda response",
})

# Namespaces AWS Config / CloudFormation spell unlike any of the model's names.
NAMESPACE_ALIASES = {
    "elasticloadbalancingv2": "ElasticLoadBalancingV2", "elasticloadbalancing": "ElasticLoadBalancing",
    "logs": "Logs", "monitoring": "CloudWatch", "events": "Events", "es": "Elasticsearch",
    "email": "SES", "states": "StepFunctions", "cognito-idp": "Cognito", "cognito-identity": "Cognito",
    "elasticfilesystem": "EFS", "execute-api": "ApiGateway", "apigateway": "ApiGateway",
    "config": "Config", "acm": "CertificateManager", "streams.dynamodb": "DynamoDB",
    "sso": "SSO", "macie2": "Macie", "wafv2": "WAFv2", "waf-regional": "WAFRegional",
    "route53resolver": "Route53Resolver", "elasticmapreduce": "EMR", "kafka": "MSK",
    "application-autoscaling": "ApplicationAutoScaling", "autoscaling": "AutoScaling",
}
# ARN resource kinds that are not the noun of the type (normalised: lower case, no '-' / '_').
ARN_ALIASES = {
    "rds db": "AWS::RDS::DBInstance", "rds snapshot": "AWS::RDS::DBSnapshot",
    "rds cluster": "AWS::RDS::DBCluster", "rds clustersnapshot": "AWS::RDS::DBClusterSnapshot",
    "rds subgrp": "AWS::RDS::DBSubnetGroup", "rds pg": "AWS::RDS::DBParameterGroup",
    "ec2 vpcflowlog": "AWS::EC2::FlowLog", "ec2 elasticip": "AWS::EC2::EIP",
    "s3 ": "AWS::S3::Bucket", "sns ": "AWS::SNS::Topic", "sqs ": "AWS::SQS::Queue",
    "logs loggroup": "AWS::Logs::LogGroup", "elasticloadbalancing loadbalancer":
    "AWS::ElasticLoadBalancingV2::LoadBalancer", "elasticloadbalancing targetgroup":
    "AWS::ElasticLoadBalancingV2::TargetGroup", "states statemachine": "AWS::StepFunctions::StateMachine",
    "secretsmanager secret": "AWS::SecretsManager::Secret", "ssm parameter": "AWS::SSM::Parameter",
    "iam instanceprofile": "AWS::IAM::InstanceProfile", "es domain": "AWS::Elasticsearch::Domain",
}
# Request member spelling CloudTrail uses instead of the wire name.
CLOUDTRAIL_SPELLING = {("s3", "bucket"): "bucketName|bucket"}


def latest_model(service_dir):
    versions = sorted(v for v in os.listdir(service_dir)
                      if os.path.isfile(os.path.join(service_dir, v, "service-2.json")))
    return os.path.join(service_dir, versions[-1], "service-2.json") if versions else None


def camel_words(s):
    return re.findall(r"[A-Z]+(?=[A-Z][a-z]|\d|$)|[A-Z]?[a-z0-9]+|[A-Z]+", s)


def singular(s):
    if s.endswith("ies"):
        return s[:-3] + "y"
    if s.endswith("sses") or s.endswith("xes"):
        return s[:-2]
    if s.endswith("s") and not s.endswith(("ss", "us", "is", "as")):
        return s[:-1]
    return s


def lower_first(s):
    return s[:1].lower() + s[1:]


def verb_of(op):
    m = re.match(r"^([A-Z][a-z]+)", op)
    return m.group(1) if m else ""


def is_read_only(op):
    return op.startswith(READ_PREFIXES)


class Service:
    def __init__(self, name, model, config_types, global_prefixes):
        self.name = name
        self.model = model
        self.shapes = model.get("shapes", {})
        meta = model.get("metadata", {})
        self.meta = meta
        self.protocol = meta.get("protocol", "")
        self.prefixes = [p for p in dict.fromkeys([meta.get("endpointPrefix"), meta.get("signingName")]) if p]
        self.namespace = self.find_namespace(config_types)
        self.config_nouns = {t.split("::")[2].lower(): t for t in config_types
                             if t.split("::")[1] == self.namespace}
        self.global_ = any(p in global_prefixes for p in self.prefixes)
        self.uri_wires = set()  # members sent in the request's path (they name the resource)
        self.nouns = set()
        for op in model.get("operations", {}):
            v = verb_of(op)
            if v in CREATE_VERBS | DELETE_VERBS and op != v:
                self.nouns.add(op[len(v):].lower())
                self.nouns.add(singular(op[len(v):]).lower())
        self.nouns.update(self.config_nouns)
        # Nouns of what the service's Create* operations make (and Config's types): resources
        # in their own right, not parts of one (a policy, a value, a permission).
        self.created = {op[6:].lower() for op in model.get("operations", {})
                        if op.startswith("Create") and len(op) > 6}
        self.created |= {singular(n) for n in self.created} | set(self.config_nouns)

    def find_namespace(self, config_types):
        namespaces = {t.split("::")[1].lower(): t.split("::")[1] for t in config_types}
        meta = self.meta
        for p in self.prefixes:
            if p in NAMESPACE_ALIASES:
                return NAMESPACE_ALIASES[p]
        candidates = [meta.get("serviceId", "").replace(" ", ""), meta.get("endpointPrefix", ""),
                      meta.get("signingName", ""),
                      re.sub(r"^(AWS|Amazon)\s*", "", meta.get("serviceAbbreviation", "")).replace(" ", "")]
        for c in candidates:
            if c and c.lower().replace("-", "") in namespaces:
                return namespaces[c.lower().replace("-", "")]
        sid = meta.get("serviceId", self.name).replace(" ", "").replace("-", "")
        return sid[:1].upper() + sid[1:]

    def type_of(self, noun):
        t = self.config_nouns.get(noun.lower()) or self.config_nouns.get(singular(noun).lower())
        if t:
            return t
        return "AWS::%s::%s" % (self.namespace, noun[:1].upper() + noun[1:])

    def members(self, shape_name, depth=0, seen=None):
        """(model member name, wire name, is list) of a shape, nested structures included."""
        out = []
        if not shape_name or depth > 2:
            return out
        seen = seen or set()
        if shape_name in seen:
            return out
        seen = seen | {shape_name}
        shape = self.shapes.get(shape_name, {})
        for name, m in shape.get("members", {}).items():
            target = self.shapes.get(m.get("shape"), {})
            # S3 Control's AccountId travels in a header CloudTrail does not record: the calls
            # act on the caller's account.
            if self.name == "s3control" and name == "AccountId":
                continue
            wire = lower_first(m.get("locationName") if self.protocol == "ec2" and m.get("locationName") else name)
            if m.get("location") == "uri":
                self.uri_wires.add(wire)
            required = depth == 0 and name in shape.get("required", [])
            if target.get("type") == "string":
                out.append((name, wire, False, required))
            elif target.get("type") == "list":
                item = self.shapes.get(target.get("member", {}).get("shape"), {})
                if item.get("type") == "string":
                    loc = target.get("member", {}).get("locationName")
                    lw = lower_first(loc) if self.protocol == "ec2" and loc else wire
                    out.append((name, lw, True, required))
                elif item.get("type") == "structure":
                    out.extend(self.members(target["member"]["shape"], depth + 1, seen))
            elif target.get("type") == "structure":
                out.extend(self.members(m.get("shape"), depth + 1, seen))
        return out


def stem_of(member):
    for s in ID_SUFFIXES:
        if member.endswith(s) and len(member) >= len(s):
            return member[: -len(s)], s
    return None, None


def spelled(svc, wire):
    for p in svc.prefixes:
        alias = CLOUDTRAIL_SPELLING.get((p, wire))
        if alias:
            return alias
    return wire


def id_members(svc, members, noun):
    """Wire names of members naming `noun` (Target/New/Destination first, never Source)."""
    found = []
    for prefer_target in (True, False):
        for suffix_rank in range(len(ID_SUFFIXES)):
            for name, wire, is_list, _ in members:
                stem, suffix = stem_of(name)
                if stem is None or suffix != ID_SUFFIXES[suffix_rank]:
                    continue
                base = stem
                target = False
                for p in ("Target", "New", "Destination"):
                    if stem.startswith(p) and stem[len(p):].lower() in (noun.lower(), singular(noun).lower()):
                        base, target = stem[len(p):], True
                if target != prefer_target:
                    continue
                if base.lower() in (noun.lower(), singular(noun).lower()) and wire not in found:
                    found.append(wire)
    # A member named as the resource itself that is part of the request's path (S3's "Bucket").
    for name, wire, _, _ in members:
        if name.lower() == noun.lower() and wire in svc.uri_wires and wire not in found:
            found.append(wire)
    return [spelled(svc, w) for w in found]


def generic_members(svc, members):
    out = []
    for suffix in ID_SUFFIXES:
        for name, wire, _, _ in members:
            if name == suffix and wire not in out:
                out.append(spelled(svc, wire))
    return out


def subphrases(noun):
    words = camel_words(noun)
    subs = []
    for length in range(len(words), 0, -1):
        for start in range(0, len(words) - length + 1):
            subs.append("".join(words[start:start + length]))
    return subs


def none_reason(svc, op):
    for p in svc.prefixes:
        for key in ((p, op), (p, "*")):
            if key in NONE:
                return NONE[key]
    return None


def derive(svc, op_name, op):
    """(type, action, account_scoped, request members, response members, why) or None."""
    why = none_reason(svc, op_name)
    if why:
        return ("", "none", False, [], [], why)
    for p in svc.prefixes:
        if (p, op_name) in OVERRIDES:
            type_, action, req, resp = OVERRIDES[(p, op_name)]
            return (type_, action, False, req.split("|") if req else [],
                    resp.split("|") if resp else [], "")
    verb = verb_of(op_name)
    noun = op_name[len(verb):]
    # The service's own name is not part of the resource's (CreateElasticsearchDomain: Domain).
    for ns in (svc.namespace, svc.meta.get("serviceId", "").replace(" ", "")):
        if ns and noun.lower().startswith(ns.lower()) and len(noun) > len(ns) and noun[len(ns)].isupper():
            noun = noun[len(ns):]
            break
    inp = svc.members(op.get("input", {}).get("shape"))
    outp = svc.members(op.get("output", {}).get("shape"))
    if TAG_OPS.match(op_name) or UNTAG_OPS.match(op_name):
        action = "tag" if TAG_OPS.match(op_name) else "untag"
        rest = re.sub(r"^(Tag|Untag|AddTagsTo|RemoveTagsFrom|AddTags|RemoveTags|CreateTags|DeleteTags)", "", op_name)
        if rest and rest not in ("Resource", "Resources"):
            req = id_members(svc, inp, rest)
            if req:
                return (svc.type_of(singular(rest)), action, False, req, [], "")
        arn = [w for n, w, _, _ in inp if n in ARN_MEMBERS]
        if arn:
            return ("", action, False, arn, [], "")
        for name, wire, _, _ in inp:
            stem, _ = stem_of(name)
            if stem and (stem.lower() in svc.nouns or singular(stem).lower() in svc.nouns):
                return (svc.type_of(singular(stem)), action, False, id_members(svc, inp, stem), [], "")
        return None
    if "s3" in svc.prefixes and "Object" in op_name:
        req = id_members(svc, inp, "Bucket")
        return ("AWS::S3::Bucket", "note", False, req, [], "") if req else None
    # The resource: the longest part of the noun some member names.
    for sub in subphrases(noun) if noun else []:
        req = id_members(svc, inp, sub)
        resp = id_members(svc, outp, sub)
        if not req and not resp:
            continue
        full = sub.lower() in (noun.lower(), singular(noun).lower())
        rest = noun[len(sub):] if noun.startswith(sub) else None
        if verb in CREATE_VERBS and (full or (rest is not None and (rest.startswith("From") or rest in ("ReadReplica", "Copy")))):
            action = "create"
        elif verb in DELETE_VERBS and full:
            action = "delete"
        elif verb == "Put" and full:
            action = "upsert"
        else:
            action = "update"
        optional = not resp and action in ("update", "upsert") and not any(
            r for n, w, _, r in inp if spelled(svc, w) in req)
        return (svc.type_of(singular(sub) if full else sub), action, 2 if optional else False,
                req, resp, "")
    # A required member naming a resource the service creates: the call changes that one
    # (AddPermission -> FunctionName, PutResourcePolicy -> SecretId).
    own = noun.lower() in svc.created or singular(noun).lower() in svc.created
    for name, wire, _, req_flag in ([] if own else inp):
        stem, _ = stem_of(name)
        if stem and req_flag and not stem.startswith("Source") and (
                stem.lower() in svc.created or singular(stem).lower() in svc.created):
            return (svc.type_of(singular(stem)), "update", False, id_members(svc, inp, stem),
                    id_members(svc, outp, stem) or generic_members(svc, outp), "")
    # The noun with a bare Name / Id / Arn member (PutParameter, CreateSecret).
    if noun:
        req = generic_members(svc, inp)
        resp = generic_members(svc, outp)
        if req or resp:
            action = ("create" if verb in CREATE_VERBS else "delete" if verb in DELETE_VERBS
                      else "upsert" if verb == "Put" else "update")
            return (svc.type_of(singular(noun)), action, False, req, resp, "")
    # A member naming another resource of the service (AddPermission -> FunctionName).
    for required in (True, False):
        for name, wire, _, req_flag in inp:
            stem, _ = stem_of(name)
            if not stem or req_flag != required or stem.startswith("Source"):
                continue
            if stem.lower() in svc.nouns or singular(stem).lower() in svc.nouns:
                return (svc.type_of(singular(stem)), "update", False,
                        id_members(svc, inp, stem), [], "")
    # An account-level setting: no identifier member at all.
    if noun and not any(stem_of(n)[0] is not None for n, _, _, _ in inp) and \
            verb in ("Put", "Update", "Enable", "Disable", "Set", "Delete", "Modify", "Reset",
                     "Associate", "Disassociate", "Start", "Stop", "Accept", "Activate",
                     "Deactivate", "Opt", "Register", "Deregister", "Create"):
        return (svc.type_of(noun), "account", True, [], [], "")
    return None


def cstr(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


ACTIONS = {"create": "kCreate", "upsert": "kUpsert", "update": "kUpdate", "delete": "kDelete",
           "tag": "kTag", "untag": "kUntag", "note": "kNote", "none": "kNone", "account": "kUpdate"}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    report = "--report" in sys.argv
    data = args[0] if args else DEFAULT_DATA
    with open(os.path.join(data, "endpoints.json")) as f:
        endpoints = json.load(f)
    global_prefixes = set()
    for partition in endpoints.get("partitions", []):
        if partition.get("partition") != "aws":
            continue
        for name, s in partition.get("services", {}).items():
            if s.get("isRegionalized") is False:
                global_prefixes.add(name)
    with open(latest_model(os.path.join(data, "config"))) as f:
        config_types = json.load(f)["shapes"]["ResourceType"]["enum"]

    entries = {}  # key -> tuple
    arn_types = {}
    unresolved = []
    writes = 0
    for service in sorted(os.listdir(data)):
        path = os.path.join(data, service)
        if not os.path.isdir(path):
            continue
        model_path = latest_model(path)
        if model_path is None:
            continue
        with open(model_path) as f:
            model = json.load(f)
        svc = Service(service, model, config_types, global_prefixes)
        for noun in sorted(svc.nouns):
            for p in svc.prefixes:
                arn_types.setdefault("%s %s" % (p, noun.replace("-", "").replace("_", "")),
                                     svc.type_of(noun) if noun not in svc.config_nouns else svc.config_nouns[noun])
        for op_name, op in sorted(model.get("operations", {}).items()):
            if is_read_only(op_name) and not none_reason(svc, op_name):
                continue
            writes += 1
            d = derive(svc, op_name, op)
            if d is None:
                unresolved.append("%s %s" % (svc.prefixes[0], op_name))
                continue
            for p in svc.prefixes:
                entries.setdefault("%s.amazonaws.com %s" % (p, op_name), d + (svc.global_,))
    for (prefix, op), why in NONE.items():
        if op != "*":
            entries.setdefault("%s.amazonaws.com %s" % (prefix, op), ("", "none", False, [], [], why, False))
    for prefix, op, type_, action, req, resp in EXTRA_CALLS:
        entries["%s.amazonaws.com %s" % (prefix, op)] = (
            type_, action, action == "account", req.split("|") if req else [],
            resp.split("|") if resp else [], "", False)
    # sign-in and other sources without a model: every name CloudTrail records for them.
    for source, names in (("signin", ["ConsoleLogin", "ConsoleLogout", "CheckMfa", "GetSigninToken",
                                      "SwitchRole", "ExitRole", "RenewRole", "AssumeRole",
                                      "PasswordUpdated", "PasswordRecoveryRequested",
                                      "PasswordRecoveryCompleted", "CredentialChallenge",
                                      "CredentialVerification", "UserAuthentication",
                                      "ExternalIdPDirectoryLogin"]),
                          ("sso", ["Federate", "Authenticate", "CreateToken", "Logout"]),
                          ("ssmmessages", ["CreateControlChannel", "CreateDataChannel",
                                           "OpenControlChannel", "OpenDataChannel"]),
                          ("ec2messages", ["SendHeartbeat", "AcknowledgeMessage", "SendReply",
                                           "GetMessages", "DeleteMessage", "FailMessage"])):
        for n in names:
            entries.setdefault("%s.amazonaws.com %s" % (source, n),
                               ("", "none", False, [], [], NONE[(source, "*")], False))
    for k, v in ARN_ALIASES.items():
        arn_types[k] = v

    out = sys.stdout
    out.write("// GENERATED by scripts/gen_aws_resource_calls.py from botocore service models "
              "(python3-botocore).\n// Do not edit by hand: regenerate (doc/resource_calls.md).\n\n")
    out.write('#include "appliers/aws_resource_calls.h"\n\n')
    out.write("namespace driftwatch {\nnamespace {\n\n")
    out.write("using A = ResourceCallAction;\n\n")
    out.write("// {\"eventSource eventName\", type, action, account-scoped, global, request members, "
              "response members, why}\n")
    out.write("constexpr ResourceCall kCalls[] = {\n")
    for key in sorted(entries):
        type_, action, account, req, resp, why, glob = entries[key]
        out.write("    {%s, %s, A::%s, %d, %s, %s, %s, %s},\n" % (
            cstr(key), cstr(type_), ACTIONS[action], 2 if account == 2 else 1 if account else 0,
            "true" if glob else "false", cstr("|".join(req)), cstr("|".join(resp)), cstr(why)))
    out.write("};\n\n")
    out.write("constexpr ArnResourceType kArnTypes[] = {\n")
    for key in sorted(arn_types):
        out.write("    {%s, %s},\n" % (cstr(key), cstr(arn_types[key])))
    out.write("};\n\n}  // namespace\n\n")
    out.write("const ResourceCall* ResourceCallTable(size_t* count) {\n")
    out.write("  *count = sizeof(kCalls) / sizeof(kCalls[0]);\n  return kCalls;\n}\n\n")
    out.write("const ArnResourceType* ArnResourceTypeTable(size_t* count) {\n")
    out.write("  *count = sizeof(kArnTypes) / sizeof(kArnTypes[0]);\n  return kArnTypes;\n}\n\n")
    out.write("}  // namespace driftwatch\n")
    sys.stderr.write("%d write operations, %d entries, %d unresolved\n" % (writes, len(entries), len(unresolved)))
    if report:
        for u in unresolved:
            sys.stderr.write("unresolved: %s\n" % u)


if __name__ == "__main__":
    main()
