#ifndef TIERSCORE_TESTS_TESTING_YAML_H_
#define TIERSCORE_TESTS_TESTING_YAML_H_

// Policies and KPI specs written inline in tests, as users write them.

#include <string>

#include "common/config_loader.h"
#include "gtest/gtest.h"
#include "tierscore/v1/kpi.pb.h"
#include "tierscore/v1/policy.pb.h"

namespace tierscore::testing {

inline v1::Policy PolicyFromYaml(const std::string& yaml) {
  v1::Policy p;
  absl::Status st = common::ParseYamlToProto(yaml, "policy.yaml", &p);
  EXPECT_TRUE(st.ok()) << st;
  return p;
}

inline v1::KpiSpec KpisFromYaml(const std::string& yaml) {
  v1::KpiSpec k;
  absl::Status st = common::ParseYamlToProto(yaml, "kpis.yaml", &k);
  EXPECT_TRUE(st.ok()) << st;
  return k;
}

}  // namespace tierscore::testing

#endif  // TIERSCORE_TESTS_TESTING_YAML_H_
