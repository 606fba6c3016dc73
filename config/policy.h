#pragma once
// What the owner approved. Policy is configuration, not rules: rules consult it by name.
// An unset list (has_* == false) turns its check off, except public_ports (unset = no port may be
// open to the world) and trusted_accounts (unset = nothing trusted but the event's own account).

#include <cstdint>
#include <string>
#include <vector>

namespace driftwatch {

struct Suppression {
  std::string rule_id;    // "" = any rule
  std::string resource;   // resource id or ARN, "" = any
  std::string principal;  // principal ARN, "" = any
  std::string tag_key;    // resource tag key, "" = any
  std::string tag_value;  // "" = any value of tag_key
  std::string reason;     // why (shown in `rules check` output)
};

struct Policy {
  bool has_approved_regions = false;
  std::vector<std::string> approved_regions;
  bool has_approved_resource_types = false;
  std::vector<std::string> approved_resource_types;
  std::vector<std::string> trusted_accounts;  // besides the event's own account
  bool has_trusted_ami_owners = false;
  std::vector<std::string> trusted_ami_owners;  // account ids, or aliases such as "amazon"
  // AMI ids always trusted whatever their owner, and the way to trust an image whose owner
  // driftwatch cannot learn (public images it never saw described). Used only while
  // trusted_ami_owners is set.
  std::vector<std::string> trusted_amis;
  std::vector<int> public_ports;                // default: none
  int access_key_max_age_days = 90;             // bounds: 1..3650
  // An active access key or console password not used for this many days (event time, from
  // the uses the stream has seen) is unused. Bounds: 1..3650.
  int unused_credential_days = 90;
  bool has_iam_admin_principals = false;
  std::vector<std::string> iam_admin_principals;  // ARNs (suffix "*" allowed) expected to change IAM
  std::vector<Suppression> suppressions;
};

}  // namespace driftwatch
