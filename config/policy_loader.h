#pragma once
// Reads the `policy:` section of the service config into config/policy.h's Policy.
//
//   policy:
//     approved_regions: [us-east-1, eu-west-1]        # unset: region check off
//     approved_resource_types: ["AWS::EC2::Instance"] # unset: resource-type check off
//     trusted_accounts: ["111122223333"]              # 12-digit ids; default: none but the
//                                                     # account itself
//     trusted_ami_owners: [amazon, "123456789012"]    # unset: AMI-owner check off; "self"
//                                                     # = the instance's own account
//     trusted_amis: [ami-0abc12345678]                # AMI ids trusted whatever the owner
//     public_ports: [80, 443]                         # 0..65535; default: none
//     access_key_max_age_days: 90                     # 1..3650, default 90
//     iam_admin_principals: ["arn:aws:iam::111122223333:role/admin*"]  # unset: check off
//     suppressions:                                   # each needs a selector and a reason
//       - rule: network-sg-open-to-world               # any of rule/resource/principal/tag
//         resource: sg-0abc
//         principal: arn:aws:iam::111122223333:role/ci
//         tag: {key: env, value: sandbox}             # or tag: "env=sandbox" / tag: env
//         reason: sandbox account, reviewed 2024-05
//
// Every problem is reported at once, each as "file:line: policy.<key>: what is wrong".

#include <string>
#include <string_view>
#include <vector>

#include "config/policy.h"
#include "config/rule_file.h"
#include "vocab/status.h"

namespace driftwatch {

// `yaml_text` is the whole config file; only its top-level `policy` key is read (absent: all
// defaults). On any problem returns an error and leaves `out` untouched; `problems` (optional)
// receives every problem.
Status LoadPolicyFromYaml(std::string_view yaml_text, std::string_view file_name, Policy* out,
                          std::vector<std::string>* problems);

// The same over an already parsed config file (its root map).
Status LoadPolicyFromNode(const YamlNode& root, std::string_view file_name, Policy* out,
                          std::vector<std::string>* problems);

}  // namespace driftwatch
