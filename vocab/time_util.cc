#include "vocab/time_util.h"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace driftwatch {
namespace {

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool ReadInt(std::string_view s, size_t* pos, size_t digits, int* out) {
  if (*pos + digits > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < digits; ++i) {
    char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += digits;
  *out = v;
  return true;
}

bool ParseIso(std::string_view s, int64_t* out_ms) {
  size_t p = 0;
  int y, mo, d, h, mi, sec;
  if (!ReadInt(s, &p, 4, &y) || p >= s.size() || s[p++] != '-') return false;
  if (!ReadInt(s, &p, 2, &mo) || p >= s.size() || s[p++] != '-') return false;
  if (!ReadInt(s, &p, 2, &d)) return false;
  if (p >= s.size() || (s[p] != 'T' && s[p] != ' ')) return false;
  ++p;
  if (!ReadInt(s, &p, 2, &h) || p >= s.size() || s[p++] != ':') return false;
  if (!ReadInt(s, &p, 2, &mi)) return false;
  sec = 0;
  if (p < s.size() && s[p] == ':') {
    ++p;
    if (!ReadInt(s, &p, 2, &sec)) return false;
  }
  int64_t ms = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int scale = 100;
    while (p < s.size() && std::isdigit(static_cast<unsigned char>(s[p]))) {
      ms += (s[p] - '0') * scale;
      scale /= 10;
      ++p;
    }
  }
  int64_t offset_s = 0;
  if (p < s.size()) {
    if (s[p] == 'Z' || s[p] == 'z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      const int sign = s[p] == '-' ? -1 : 1;
      ++p;
      int oh = 0, om = 0;
      if (!ReadInt(s, &p, 2, &oh)) return false;
      if (p < s.size() && s[p] == ':') ++p;
      if (p < s.size() && !ReadInt(s, &p, 2, &om)) return false;
      offset_s = sign * (oh * 3600 + om * 60);
    }
  }
  if (p != s.size()) return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *out_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_s) * 1000 + ms;
  return true;
}

// "Jul 30, 2024 9:53:13 PM"
bool ParseJavaStyle(std::string_view s, int64_t* out_ms) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (s.size() < 18) return false;
  int mo = 0;
  for (int i = 0; i < 12; ++i) {
    if (s.substr(0, 3) == kMonths[i]) mo = i + 1;
  }
  if (mo == 0) return false;
  int d = 0, y = 0, h = 0, mi = 0, sec = 0;
  char ampm[3] = {0};
  const std::string copy(s.substr(4));
  if (std::sscanf(copy.c_str(), "%d, %d %d:%d:%d %2s", &d, &y, &h, &mi, &sec, ampm) != 6) {
    return false;
  }
  if (h < 1 || h > 12 || d < 1 || d > 31) return false;
  const bool pm = (ampm[0] == 'P' || ampm[0] == 'p');
  h = h % 12 + (pm ? 12 : 0);
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  *out_ms = (days * 86400 + h * 3600 + mi * 60 + sec) * 1000;
  return true;
}

}  // namespace

bool ParseTimestamp(std::string_view text, int64_t* out_ms) {
  if (text.empty()) return false;
  if (std::isdigit(static_cast<unsigned char>(text[0]))) return ParseIso(text, out_ms);
  return ParseJavaStyle(text, out_ms);
}

std::string FormatTimestamp(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int millis = static_cast<int>(ms - secs * 1000);
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const int year = tm.tm_year + 1900;
  if (year < 0 || year > 9999) {  // outside what four digits hold: the general formatter
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                  tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    std::string out = buf;
    if (millis == 0) out.erase(out.size() - 5, 4);
    return out;
  }
  // Written digit by digit: this runs for every change the state records.
  char buf[24] = "0000-00-00T00:00:00.000";
  auto put = [&buf](int pos, int width, int value) {
    for (int i = width - 1; i >= 0; --i, value /= 10)
      buf[pos + i] = static_cast<char>('0' + value % 10);
  };
  put(0, 4, year);
  put(5, 2, tm.tm_mon + 1);
  put(8, 2, tm.tm_mday);
  put(11, 2, tm.tm_hour);
  put(14, 2, tm.tm_min);
  put(17, 2, tm.tm_sec);
  if (millis == 0) {
    buf[19] = 'Z';
    return std::string(buf, 20);
  }
  put(20, 3, millis);
  buf[23] = 'Z';
  return std::string(buf, 24);
}

}  // namespace driftwatch
