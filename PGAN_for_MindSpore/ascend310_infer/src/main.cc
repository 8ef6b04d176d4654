// PGAN offline inference on Ascend 310: the exported MindIR generator through the MindSpore C++ API.
//
//   main --mindir_path=PGAN.mindir --input0_path=preprocess_Result/z --input1_path=preprocess_Result/alpha
//        --result_path=result_bin/<timestamp> [--device_id=0]
//
// For every <name>.bin in input0_path (sorted), the same-named file in input1_path is the second input
// (z [batch, latent] float32 and alpha, a float32 scalar, as preprocess.py writes them). The outputs go
// to <result_path>/<name>_output_<i>.bin (msame's naming, which postprocess.py reads), and one line
// "Inference time: <ms> ms" per inference goes to stdout (run_infer_310.sh tees it to
// time_Result/infer.log; postprocess.py averages those lines into test_perform_static.txt).
// Bad input is one line on stderr and exit code 1.
//
// Built on the Ascend host by ../build.sh against the installed MindSpore (MindSpore >= 1.6 C++ API:
// mindspore::AscendDeviceInfo). Not built or run in this repository's CI: no Ascend and no MindSpore
// C++ headers there; checked only with g++ -std=c++17 -fsyntax-only against the public repository's
// include/api headers (clean), never linked.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "include/api/context.h"
#include "include/api/model.h"
#include "include/api/serialization.h"
#include "include/api/types.h"

namespace {

const char *kUsage =
    "usage: main --mindir_path=FILE --input0_path=DIR --input1_path=DIR --result_path=DIR [--device_id=N]";

int Fail(const std::string &message) {
  std::cerr << "error: " << message << std::endl;
  return 1;
}

// --key=value arguments; false (with the offending argument in *bad) on anything else.
bool ParseFlags(int argc, char **argv, std::map<std::string, std::string> *flags, std::string *bad) {
  for (int i = 1; i < argc; ++i) {
    std::string arg(argv[i]);
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) != 0 || eq == std::string::npos) {
      *bad = arg;
      return false;
    }
    (*flags)[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
  }
  return true;
}

bool IsDir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The *.bin file names directly inside dir, sorted (the inference order).
std::vector<std::string> BinFiles(const std::string &dir) {
  std::vector<std::string> names;
  DIR *d = opendir(dir.c_str());
  if (d == nullptr) return names;
  for (struct dirent *e = readdir(d); e != nullptr; e = readdir(d)) {
    std::string name(e->d_name);
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".bin") == 0) names.push_back(name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool ReadFile(const std::string &path, std::vector<char> *data) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return false;
  std::streamsize size = f.tellg();
  f.seekg(0, std::ios::beg);
  data->resize(static_cast<size_t>(size));
  return size == 0 || static_cast<bool>(f.read(data->data(), size));
}

bool WriteFile(const std::string &path, const void *data, size_t size) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  return f && static_cast<bool>(f.write(static_cast<const char *>(data), static_cast<std::streamsize>(size)));
}

}  // namespace

int main(int argc, char **argv) {
  std::map<std::string, std::string> flags = {{"device_id", "0"}};
  std::string bad;
  if (!ParseFlags(argc, argv, &flags, &bad)) return Fail("unexpected argument '" + bad + "'; " + kUsage);
  for (const char *key : {"mindir_path", "input0_path", "input1_path", "result_path"}) {
    if (flags[key].empty()) return Fail(std::string("--") + key + " is required; " + kUsage);
  }
  const std::string input_dirs[2] = {flags["input0_path"], flags["input1_path"]};
  for (const std::string &dir : input_dirs) {
    if (!IsDir(dir)) return Fail("input folder " + dir + " not found: run run_infer_310.sh with NEED_PREPROCESS y");
  }
  if (!IsDir(flags["result_path"])) return Fail("--result_path " + flags["result_path"] + " is not a folder");
  int device_id = 0;
  try {
    device_id = std::stoi(flags["device_id"]);
  } catch (const std::exception &) {
    return Fail("--device_id must be an integer, got '" + flags["device_id"] + "'");
  }

  auto context = std::make_shared<mindspore::Context>();
  auto ascend = std::make_shared<mindspore::AscendDeviceInfo>();
  ascend->SetDeviceID(device_id);
  context->MutableDeviceInfo().push_back(ascend);

  mindspore::Graph graph;
  mindspore::Status status = mindspore::Serialization::Load(flags["mindir_path"], mindspore::ModelType::kMindIR, &graph);
  if (status != mindspore::kSuccess) return Fail("cannot load " + flags["mindir_path"] + ": " + status.ToString());
  mindspore::Model model;
  status = model.Build(mindspore::GraphCell(graph), context);
  if (status != mindspore::kSuccess) return Fail("cannot build the model on device " + flags["device_id"] + ": " + status.ToString());
  std::vector<mindspore::MSTensor> model_inputs = model.GetInputs();
  if (model_inputs.size() != 2) {
    return Fail(flags["mindir_path"] + " has " + std::to_string(model_inputs.size()) +
                " inputs; the PGAN generator export has 2 (z, alpha)");
  }

  std::vector<std::string> names = BinFiles(input_dirs[0]);
  if (names.empty()) return Fail("no .bin files in " + input_dirs[0]);
  double total_ms = 0.0;
  for (const std::string &name : names) {
    std::vector<char> data[2];
    std::vector<mindspore::MSTensor> inputs;
    for (int i = 0; i < 2; ++i) {
      std::string path = input_dirs[i] + "/" + name;
      if (!ReadFile(path, &data[i])) return Fail("cannot read " + path);
      if (data[i].size() != model_inputs[i].DataSize()) {
        return Fail(path + " holds " + std::to_string(data[i].size()) + " bytes; input " + model_inputs[i].Name() +
                    " takes " + std::to_string(model_inputs[i].DataSize()) + " (preprocess for this model again)");
      }
      inputs.emplace_back(model_inputs[i].Name(), model_inputs[i].DataType(), model_inputs[i].Shape(),
                          data[i].data(), data[i].size());
    }
    std::vector<mindspore::MSTensor> outputs;
    auto start = std::chrono::steady_clock::now();
    status = model.Predict(inputs, &outputs);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (status != mindspore::kSuccess) return Fail("inference of " + name + " failed: " + status.ToString());
    total_ms += ms;
    std::cout << "Inference time: " << ms << " ms" << std::endl;
    std::string stem = name.substr(0, name.size() - 4);
    for (size_t j = 0; j < outputs.size(); ++j) {
      std::string out = flags["result_path"] + "/" + stem + "_output_" + std::to_string(j) + ".bin";
      if (!WriteFile(out, outputs[j].Data().get(), outputs[j].DataSize())) return Fail("cannot write " + out);
    }
  }
  std::cout << "Inference average time: " << total_ms / names.size() << " ms of " << names.size()
            << " inferences" << std::endl;
  return 0;
}
