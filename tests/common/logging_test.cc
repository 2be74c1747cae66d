#include "common/logging.h"

#include <sstream>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"

namespace tierscore::common {
namespace {

TEST(LoggingTest, TextEventsQuoteOnlyWhatNeedsIt) {
  EXPECT_EQ(FormatEvent(LogFormat::kText, "job.finished",
                        {{"job", "j-1"}, {"rows", int64_t{1000}}, {"error", "a \"b\"\nc"}}),
            R"(job.finished job=j-1 rows=1000 error="a \"b\"\nc")");
  EXPECT_EQ(FormatEvent(LogFormat::kText, "x", {{"empty", ""}}), R"(x empty="")");
}

TEST(LoggingTest, JsonEventsAreObjectsWithTypedFields) {
  spdlog::set_level(spdlog::level::info);
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  ASSERT_TRUE(ConfigureLogging("json", /*to_stderr=*/false).ok());
  LogEvent(spdlog::level::warn, "job.failed",
           {{"job", "j-1"}, {"seconds", 1.5}, {"error", "bad \"input\"\n\tat line 3"}});
  spdlog::info("plain {} message with \"quotes\"", 1);
  ASSERT_TRUE(ConfigureLogging("text", /*to_stderr=*/false).ok());
  spdlog::set_default_logger(previous);

  std::istringstream lines(out.str());
  std::string line;
  ASSERT_TRUE(std::getline(lines, line));
  google::protobuf::Struct event;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &event).ok()) << line;
  EXPECT_EQ(event.fields().at("event").string_value(), "job.failed");
  EXPECT_EQ(event.fields().at("level").string_value(), "warning");
  EXPECT_EQ(event.fields().at("seconds").number_value(), 1.5);
  EXPECT_EQ(event.fields().at("error").string_value(), "bad \"input\"\n\tat line 3");
  EXPECT_FALSE(event.fields().at("time").string_value().empty());

  ASSERT_TRUE(std::getline(lines, line));
  google::protobuf::Struct plain;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &plain).ok()) << line;
  EXPECT_EQ(plain.fields().at("msg").string_value(), "plain 1 message with \"quotes\"");
}

TEST(LoggingTest, UnknownFormatIsRefusedByName) {
  const absl::Status st = ConfigureLogging("xml");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "--log-format: unknown value \"xml\" (expected text or json)");
}

}  // namespace
}  // namespace tierscore::common
