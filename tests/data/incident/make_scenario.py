#!/usr/bin/env python3
"""Writes scenario.ndjson: the incident scenario of tests/engine/incident_test.cc and
tests/scripts/incident_cli.sh. Run from this directory; the output is committed."""
import json

ACCT = "111122223333"
ADMIN = {"type": "IAMUser", "principalId": "AIDAEXAMPLEADMIN0001",
         "arn": f"arn:aws:iam::{ACCT}:user/admin", "accountId": ACCT,
         "accessKeyId": "AKIAEXAMPLEADMIN0001", "userName": "admin"}
LEAKED = {"type": "IAMUser", "principalId": "AIDAEXAMPLECIBUILD01",
          "arn": f"arn:aws:iam::{ACCT}:user/ci-build", "accountId": ACCT,
          "accessKeyId": "AKIAEXAMPLELEAKED007", "userName": "ci-build"}
BACKUP = {"type": "IAMUser", "principalId": "AIDAEXAMPLEBACKUP007",
          "arn": f"arn:aws:iam::{ACCT}:user/backup-svc", "accountId": ACCT,
          "accessKeyId": "AKIAEXAMPLEBACKUP007", "userName": "backup-svc"}
SESSION = {"type": "AssumedRole", "principalId": "AROAEXAMPLEOPSADMIN1:sync",
           "arn": f"arn:aws:sts::{ACCT}:assumed-role/ops-admin/sync", "accountId": ACCT,
           "accessKeyId": "ASIAEXAMPLETEMP00001",
           "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEOPSADMIN1",
                                                "arn": f"arn:aws:iam::{ACCT}:role/ops-admin",
                                                "accountId": ACCT, "userName": "ops-admin"},
                              "attributes": {"creationDate": "2026-11-02T03:20:00Z",
                                             "mfaAuthenticated": "false"}}}
ATTACKER_IP = "203.0.113.66"
SECOND_IP = "198.51.100.23"
ADMIN_IP = "192.0.2.10"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}
FOREIGN_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
    "AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]}

out = []
n = 0


def call(time, who, ip, source, name, region="us-east-1", req=None, resp=None, error=None,
         read_only=False, resources=None):
    global n
    n += 1
    r = {"eventVersion": "1.08", "userIdentity": who, "eventTime": time,
         "eventSource": source, "eventName": name, "awsRegion": region,
         "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
         "requestParameters": req, "responseElements": resp,
         "requestID": f"req-{n:04d}", "eventID": f"7a1c0000-0000-4000-8000-{n:012d}",
         "readOnly": read_only, "eventType": "AwsApiCall", "managementEvent": True,
         "recipientAccountId": ACCT, "eventCategory": "Management"}
    if error:
        r["errorCode"] = error
        r["errorMessage"] = "denied"
    if resources:
        r["resources"] = resources
    out.append(r)


def user_resp(name, uid, date):
    return {"user": {"path": "/", "userName": name, "userId": uid,
                     "arn": f"arn:aws:iam::{ACCT}:user/{name}", "createDate": date}}


IAM, STS, EC2, S3, CT = ("iam.amazonaws.com", "sts.amazonaws.com", "ec2.amazonaws.com",
                         "s3.amazonaws.com", "cloudtrail.amazonaws.com")
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCT}:trail/org-audit"

# Before: the account as its owner set it up.
call("2026-10-01T10:00:00Z", ADMIN, ADMIN_IP, CT, "CreateTrail",
     req={"name": "org-audit", "s3BucketName": "acme-trail-logs", "isMultiRegionTrail": True},
     resp={"name": "org-audit", "s3BucketName": "acme-trail-logs", "trailARN": TRAIL_ARN,
           "isMultiRegionTrail": True, "includeGlobalServiceEvents": True,
           "logFileValidationEnabled": True})
call("2026-10-01T10:00:05Z", ADMIN, ADMIN_IP, CT, "StartLogging", req={"name": TRAIL_ARN})
call("2026-10-01T10:01:00Z", ADMIN, ADMIN_IP, S3, "CreateBucket",
     req={"bucketName": "acme-reports", "Host": "acme-reports.s3.amazonaws.com"})
call("2026-10-01T10:01:10Z", ADMIN, ADMIN_IP, S3, "PutBucketPublicAccessBlock",
     req={"bucketName": "acme-reports", "Host": "acme-reports.s3.amazonaws.com",
          "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                             "BlockPublicPolicy": True,
                                             "RestrictPublicBuckets": True}})
call("2026-10-01T10:02:00Z", ADMIN, ADMIN_IP, IAM, "CreateUser", req={"userName": "ci-build"},
     resp=user_resp("ci-build", "AIDAEXAMPLECIBUILD01", "Oct 1, 2026 10:02:00 AM"))
call("2026-10-01T10:02:10Z", ADMIN, ADMIN_IP, IAM, "CreateAccessKey",
     req={"userName": "ci-build"},
     resp={"accessKey": {"userName": "ci-build", "accessKeyId": "AKIAEXAMPLELEAKED007",
                         "status": "Active", "createDate": "Oct 1, 2026 10:02:10 AM"}})
call("2026-10-01T10:03:00Z", ADMIN, ADMIN_IP, IAM, "CreateRole",
     req={"roleName": "ops-admin", "assumeRolePolicyDocument": json.dumps(TRUST)},
     resp={"role": {"path": "/", "roleName": "ops-admin", "roleId": "AROAEXAMPLEOPSADMIN1",
                    "arn": f"arn:aws:iam::{ACCT}:role/ops-admin",
                    "createDate": "Oct 1, 2026 10:03:00 AM",
                    "assumeRolePolicyDocument": json.dumps(TRUST)}})

# The incident: the ci-build key leaks.
call("2026-11-02T03:10:00Z", LEAKED, ATTACKER_IP, STS, "GetCallerIdentity", read_only=True)
call("2026-11-02T03:10:30Z", LEAKED, ATTACKER_IP, IAM, "ListUsers", read_only=True)
call("2026-11-02T03:11:00Z", LEAKED, ATTACKER_IP, IAM, "CreateUser",
     req={"userName": "backup-svc"},
     resp=user_resp("backup-svc", "AIDAEXAMPLEBACKUP007", "Nov 2, 2026 3:11:00 AM"))
call("2026-11-02T03:11:20Z", LEAKED, ATTACKER_IP, IAM, "AttachUserPolicy",
     req={"userName": "backup-svc", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
call("2026-11-02T03:11:40Z", LEAKED, ATTACKER_IP, IAM, "CreateAccessKey",
     req={"userName": "backup-svc"},
     resp={"accessKey": {"userName": "backup-svc", "accessKeyId": "AKIAEXAMPLEBACKUP007",
                         "status": "Active", "createDate": "Nov 2, 2026 3:11:40 AM"}})
call("2026-11-02T03:12:00Z", LEAKED, ATTACKER_IP, IAM, "CreateLoginProfile",
     req={"userName": "backup-svc", "passwordResetRequired": False},
     resp={"loginProfile": {"userName": "backup-svc", "createDate": "Nov 2, 2026 3:12:00 AM",
                            "passwordResetRequired": False}})
call("2026-11-02T03:12:30Z", LEAKED, ATTACKER_IP, "guardduty.amazonaws.com", "DeleteDetector",
     req={"detectorId": "12abc34d567e8fa901bc2d34e56789f0"}, error="AccessDenied")
call("2026-11-02T03:13:00Z", LEAKED, ATTACKER_IP, IAM, "UpdateAssumeRolePolicy",
     req={"roleName": "ops-admin", "policyDocument": json.dumps(FOREIGN_TRUST)})
call("2026-11-02T03:20:00Z", LEAKED, ATTACKER_IP, STS, "AssumeRole", read_only=True,
     req={"roleArn": f"arn:aws:iam::{ACCT}:role/ops-admin", "roleSessionName": "sync"},
     resp={"credentials": {"accessKeyId": "ASIAEXAMPLETEMP00001",
                           "sessionToken": "token", "expiration": "Nov 2, 2026 4:20:00 AM"},
           "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEOPSADMIN1:sync",
                               "arn": f"arn:aws:sts::{ACCT}:assumed-role/ops-admin/sync"}})
# ... through the role session:
call("2026-11-02T03:21:00Z", SESSION, ATTACKER_IP, EC2, "CreateSecurityGroup",
     req={"groupName": "ssh-anywhere", "groupDescription": "temp", "vpcId": "vpc-0a1b2c3d"},
     resp={"_return": True, "groupId": "sg-0attack000000001"})
call("2026-11-02T03:21:10Z", SESSION, ATTACKER_IP, EC2, "AuthorizeSecurityGroupIngress",
     req={"groupId": "sg-0attack000000001", "ipPermissions": {"items": [
         {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
          "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {},
          "prefixListIds": {}}]}},
     resp={"_return": True})
for i, (inst, t) in enumerate([("i-0miner0000000007", "03:22:00"), ("i-0miner0000000008", "03:22:30")]):
    call(f"2026-11-02T{t}Z", SESSION, ATTACKER_IP, EC2, "RunInstances", region="ap-southeast-1",
         req={"instancesSet": {"items": [{"imageId": "ami-0f00dbadc0ffee123", "minCount": 1,
                                          "maxCount": 1}]}, "instanceType": "c5.4xlarge"},
         resp={"reservationId": f"r-0a{i}", "ownerId": ACCT, "instancesSet": {"items": [
             {"instanceId": inst, "imageId": "ami-0f00dbadc0ffee123",
              "instanceState": {"code": 0, "name": "pending"}, "instanceType": "c5.4xlarge",
              "placement": {"availabilityZone": "ap-southeast-1a"}}]}})
call("2026-11-02T03:23:00Z", SESSION, ATTACKER_IP, EC2, "DescribeInstances",
     region="ap-southeast-1", read_only=True)
# ... and with the key it created, from another address:
call("2026-11-02T03:30:00Z", BACKUP, SECOND_IP, CT, "StopLogging", req={"name": TRAIL_ARN})
call("2026-11-02T03:31:00Z", BACKUP, SECOND_IP, S3, "CreateBucket",
     req={"bucketName": "exfil-drop-2026", "Host": "exfil-drop-2026.s3.amazonaws.com"})
call("2026-11-02T03:31:30Z", BACKUP, SECOND_IP, S3, "PutBucketPolicy",
     req={"bucketName": "exfil-drop-2026", "Host": "exfil-drop-2026.s3.amazonaws.com",
          "bucketPolicy": {"Version": "2012-10-17", "Statement": [
              {"Sid": "x", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::exfil-drop-2026/*"}]}, "policy": ""},
     resources=[{"type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::exfil-drop-2026"}])
call("2026-11-02T03:32:00Z", BACKUP, SECOND_IP, S3, "DeleteBucketPublicAccessBlock",
     req={"bucketName": "acme-reports", "Host": "acme-reports.s3.amazonaws.com",
          "publicAccessBlock": ""})
call("2026-11-02T03:33:00Z", BACKUP, SECOND_IP, EC2, "CreateSecurityGroup",
     req={"groupName": "web", "groupDescription": "temp", "vpcId": "vpc-0a1b2c3d"},
     resp={"_return": True, "groupId": "sg-0attack000000002"})
call("2026-11-02T03:34:00Z", BACKUP, SECOND_IP, S3, "ListBuckets", read_only=True)

# Partial cleanup by the owner.
call("2026-11-02T09:30:00Z", ADMIN, ADMIN_IP, CT, "StartLogging", req={"name": TRAIL_ARN})
call("2026-11-02T09:31:00Z", ADMIN, ADMIN_IP, EC2, "TerminateInstances", region="ap-southeast-1",
     req={"instancesSet": {"items": [{"instanceId": "i-0miner0000000008"}]}},
     resp={"instancesSet": {"items": [{"instanceId": "i-0miner0000000008",
                                       "currentState": {"code": 32, "name": "shutting-down"},
                                       "previousState": {"code": 16, "name": "running"}}]}})
call("2026-11-02T09:32:00Z", ADMIN, ADMIN_IP, EC2, "DeleteSecurityGroup",
     req={"groupId": "sg-0attack000000002"}, resp={"_return": True})
call("2026-11-02T09:33:00Z", ADMIN, ADMIN_IP, IAM, "UpdateAccessKey",
     req={"userName": "ci-build", "accessKeyId": "AKIAEXAMPLELEAKED007", "status": "Inactive"})

with open("scenario.ndjson", "w") as f:
    for r in out:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
