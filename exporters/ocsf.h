#pragma once
// Findings in OCSF 1.8.0 (Open Cybersecurity Schema Framework), the schema Amazon Security Lake,
// OpenSearch and many SIEMs read. A posture finding is a Compliance Finding (class_uid 2003), an
// event finding a Detection Finding (2004); every status change is one OCSF object (opened:
// activity Create, status New; resolved: activity Close, status Resolved). The mapping, field by
// field, is doc/ocsf_mapping.md; tests/scripts/ocsf_schema.sh validates what the built-in pack
// emits against the OCSF JSON Schemas in ../shared/ocsf.

#include <cstdint>
#include <string>
#include <string_view>

#include "vocab/finding.h"

namespace driftwatch {

inline constexpr std::string_view kOcsfVersion = "1.8.0";
inline constexpr int kOcsfComplianceFinding = 2003;
inline constexpr int kOcsfDetectionFinding = 2004;

// How findings are written wherever they go (stdout, file, Kafka topic, `replay`, `findings`):
// driftwatch's own format (FindingToJson, the default) or OCSF.
enum class FindingFormat : uint8_t { kDriftwatch = 0, kOcsf = 1 };
std::string_view FindingFormatName(FindingFormat f);  // "driftwatch", "ocsf"
bool ParseFindingFormat(std::string_view name, FindingFormat* out);

// One OCSF object for the finding's current status change, as compact JSON (no newline; no
// attribute is null; invalid UTF-8 replaced). Deterministic: the same finding gives the same
// bytes.
std::string FindingToOcsfJson(const Finding& f);

// FindingToJson or FindingToOcsfJson.
std::string FindingText(const Finding& f, FindingFormat format);

}  // namespace driftwatch
