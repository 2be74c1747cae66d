#ifndef TIERSCORE_COMMON_GRPC_SERVER_H_
#define TIERSCORE_COMMON_GRPC_SERVER_H_

// What the coordinator's and the workers' gRPC servers set up alike.

#include <algorithm>
#include <memory>
#include <vector>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"
#include "grpcpp/server_builder.h"

namespace tierscore::common {

// Serves gRPC server reflection on `builder`'s server only when `on`.
// Linking grpc++_reflection registers the reflection plugin for every
// server of the process (a static initializer), so "off" takes it out of
// this builder again.
inline void SetReflection(grpc::ServerBuilder& builder, bool on) {
  if (on) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return;
  }
  class WithoutReflection : public grpc::ServerBuilderOption {
   public:
    void UpdateArguments(grpc::ChannelArguments*) override {}
    void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
      plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                    [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
                                      return p->name() == "proto_server_reflection";
                                    }),
                     plugins->end());
    }
  };
  builder.SetOption(std::make_unique<WithoutReflection>());
}

}  // namespace tierscore::common

#endif  // TIERSCORE_COMMON_GRPC_SERVER_H_
