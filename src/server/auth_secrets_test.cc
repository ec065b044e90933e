#include "server/auth_secrets.h"

#include <gtest/gtest.h>

#include <fstream>

#include "config/loader.h"
#include "server/fake_env.h"
#include "test_support/temp_dir.h"

namespace tocsin::server {
namespace {

class AuthSecretsTest : public ::testing::Test {
 protected:
  config::AuthConfig load(const std::string& yaml) {
    auto cfg = config::load_config_string(yaml, "tocsin.yaml", dir_.path());
    EXPECT_TRUE(cfg.has_value()) << cfg.error().to_string();
    return cfg ? cfg->auth : config::AuthConfig{};
  }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_.path() / name) << text; }
  std::string error_of(const std::string& yaml, const EnvLookup& env) {
    auto table = load_token_table(load(yaml), env);
    EXPECT_FALSE(table.has_value());
    return table ? "" : table.error().message();
  }
  test_support::TempDir dir_;
};

constexpr const char* kTwoTokens = R"(auth:
  tokens:
    - {name: ops-cli, role: responder, token_env: TOCSIN_OPS}
    - {name: root, role: admin, token_file: admin.token}
)";

TEST_F(AuthSecretsTest, TokensFromEnvFileAndDigestAreFoundByTheirSecret) {
  write("admin.token", "admin-secret-from-file-0123\n");
  auto table = load_token_table(
      load(std::string(kTwoTokens) + "    - {name: eve, role: viewer, token_sha256: " +
           auth::sha256_hex("viewer-secret-0123456789") + "}\n  intake: {secret_env: TOCSIN_INTAKE}\n"),
      fake_env({{"TOCSIN_OPS", "ops-secret-0123456789"}, {"TOCSIN_INTAKE", "intake-secret-0123456789"}}));
  ASSERT_TRUE(table.has_value()) << table.error().to_string();
  EXPECT_EQ(table->find("ops-secret-0123456789")->name, "ops-cli");
  EXPECT_EQ(table->find("admin-secret-from-file-0123")->role, config::Role::kAdmin);  // trailing newline trimmed
  EXPECT_EQ(table->find("viewer-secret-0123456789")->name, "eve");
  EXPECT_EQ(table->find("intake-secret-0123456789")->kind, auth::Principal::Kind::kIntake);
  EXPECT_FALSE(table->find("admin.token"));
}

TEST_F(AuthSecretsTest, AMissingOrShortSecretStopsTheStartNamingTokenLineAndSource) {
  write("admin.token", "admin-secret-from-file-0123\n");
  EXPECT_EQ(error_of(kTwoTokens, fake_env({})),
            "tocsin.yaml:3: auth token ops-cli token_env: environment variable TOCSIN_OPS is not set");
  EXPECT_EQ(error_of(kTwoTokens, fake_env({{"TOCSIN_OPS", ""}})),
            "tocsin.yaml:3: auth token ops-cli token_env: environment variable TOCSIN_OPS is empty");
  EXPECT_EQ(error_of(kTwoTokens, fake_env({{"TOCSIN_OPS", "short"}})),
            "tocsin.yaml:3: auth token ops-cli token_env: the secret in environment variable TOCSIN_OPS is 5 bytes; "
            "it needs at least 16 (e.g. openssl rand -hex 32)");
  write("admin.token", "\n");
  const std::string file = (dir_.path() / "admin.token").string();
  EXPECT_EQ(error_of(kTwoTokens, fake_env({{"TOCSIN_OPS", "ops-secret-0123456789"}})),
            "tocsin.yaml:4: auth token root token_file: secret file " + file + " is empty");
  std::filesystem::remove(dir_.path() / "admin.token");
  EXPECT_EQ(error_of(kTwoTokens, fake_env({{"TOCSIN_OPS", "ops-secret-0123456789"}})),
            "tocsin.yaml:4: auth token root token_file: cannot read secret file " + file + ": No such file or directory");
}

TEST_F(AuthSecretsTest, TwoTokensWithOneSecretOrAShortIntakeSecretAreRefused) {
  write("admin.token", "same-secret-0123456789");
  EXPECT_EQ(error_of(kTwoTokens, fake_env({{"TOCSIN_OPS", "same-secret-0123456789"}})),
            "auth token root: has the same secret as another token; give each token its own");
  write("admin.token", "admin-secret-from-file-0123");
  EXPECT_EQ(error_of(std::string(kTwoTokens) + "  intake: {secret_env: I}\n",
                     fake_env({{"TOCSIN_OPS", "ops-secret-0123456789"}, {"I", "0123"}})),
            "tocsin.yaml:5: auth.intake secret_env: the secret in environment variable I is 4 bytes; it needs at least "
            "16 (e.g. openssl rand -hex 32)");
}

TEST_F(AuthSecretsTest, NoTokensMeansAuthOff) {
  auto table = load_token_table(load("people: [{id: a}]\n"), fake_env({}));
  ASSERT_TRUE(table.has_value());
  EXPECT_FALSE(table->enabled());
}

}  // namespace
}  // namespace tocsin::server
