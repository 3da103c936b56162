"""tpark's own C toolchains: one cc_toolchain_config rule and one macro for all of them.

The mingw-w64 cross compilers (Windows x86_64 and i686), clang on Linux x86_64 and
the aarch64 cross gcc share everything but their tools, a few flags and what they
target (see BUILD.bazel next to this file). Only the flags that differ from Bazel's
defaults are spelled out. The configs do not declare `no_legacy_features`, so Bazel
adds its legacy features on top (user_compile_flags for --copt/copts, user_link_flags
for linkopts, libraries_to_link, ...): --copt, copts, linkopts and the sanitizer
configs work as usual.
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "artifact_name_pattern",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)
load("@rules_cc//cc:defs.bzl", "cc_toolchain")

_COMPILE_ACTIONS = [
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.linkstamp_compile,
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
    ACTION_NAMES.lto_backend,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

_TOOLS = ["gcc", "cpp", "gcov", "ar", "ld", "nm", "objcopy", "objdump", "strip"]

def _flags(actions, flags):
    return flag_set(actions = actions, flag_groups = [flag_group(flags = flags)])

def _impl(ctx):
    tool_paths = [
        tool_path(name = name, path = ctx.attr.tools.get(name, ctx.attr.tool_prefix + name))
        for name in _TOOLS
    ] + [
        tool_path(name = "dwp", path = "/bin/false"),  # no split DWARF
    ]

    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [_flags(_COMPILE_ACTIONS, [
                # Keep header paths as written, so that they match
                # cxx_builtin_include_directories in Bazel's inclusion check.
                "-no-canonical-prefixes",
                # Reproducible outputs.
                "-Wno-builtin-macro-redefined",
                "-D__DATE__=\"redacted\"",
                "-D__TIMESTAMP__=\"redacted\"",
                "-D__TIME__=\"redacted\"",
            ] + ctx.attr.compile_flags)],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [_flags(_LINK_ACTIONS, ["-no-canonical-prefixes"] + ctx.attr.link_flags)],
        ),
        # Bazel enables the feature named after --compilation_mode if it exists.
        feature(name = "fastbuild"),
        feature(
            name = "dbg",
            flag_sets = [_flags(_COMPILE_ACTIONS, ["-g", "-O0"])],
        ),
        feature(
            name = "opt",
            flag_sets = [
                _flags(_COMPILE_ACTIONS, [
                    "-O2",
                    "-DNDEBUG",
                    "-g0",
                    "-ffunction-sections",
                    "-fdata-sections",
                ]),
                _flags(_LINK_ACTIONS, ["-Wl,--gc-sections"]),
            ],
        ),
        # Not declared on purpose: supports_dynamic_linker (test binaries link
        # the project's libraries statically; no per-library DLLs) and
        # supports_pic (executables only; no PIC on PE).
    ]

    windows = ctx.attr.target_libc == "mingw"
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        artifact_name_patterns = [
            artifact_name_pattern(category_name = "executable", prefix = "", extension = ".exe"),
            artifact_name_pattern(category_name = "dynamic_library", prefix = "", extension = ".dll"),
        ] if windows else [],
        cxx_builtin_include_directories = ctx.attr.builtin_include_dirs,
        toolchain_identifier = ctx.attr.toolchain_identifier,
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = ctx.attr.target_libc,
        compiler = ctx.attr.compiler,
        abi_version = "unknown",
        abi_libc_version = "unknown",
        tool_paths = tool_paths,
    )

tpark_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        # tool_prefix + name for every tool not in `tools`.
        "tool_prefix": attr.string(mandatory = True),
        "tools": attr.string_dict(),
        "builtin_include_dirs": attr.string_list(mandatory = True),
        "compile_flags": attr.string_list(),
        "link_flags": attr.string_list(),
        "compiler": attr.string(mandatory = True),
        "toolchain_identifier": attr.string(mandatory = True),
        "target_system_name": attr.string(mandatory = True),
        # Informational (toolchain resolution uses the platform's constraints).
        "target_cpu": attr.string(mandatory = True),
        # "mingw" (Windows: .exe and .dll outputs) or "glibc".
        "target_libc": attr.string(mandatory = True, values = ["glibc", "mingw"]),
    },
    provides = [CcToolchainConfigInfo],
)

def tpark_cc_toolchain(name, **config):
    """A cc_toolchain called name and its config (name + "_config").

    System compilers and headers (/usr/bin, /usr/lib/gcc, ...): nothing is staged
    into the sandbox, so every file group is the package's `:empty`.

    Args:
      name: the cc_toolchain, for a toolchain()'s `toolchain` attribute.
      **config: the attributes of tpark_cc_toolchain_config.
    """
    tpark_cc_toolchain_config(name = name + "_config", **config)
    cc_toolchain(
        name = name,
        all_files = ":empty",
        compiler_files = ":empty",
        dwp_files = ":empty",
        linker_files = ":empty",
        objcopy_files = ":empty",
        strip_files = ":empty",
        supports_param_files = 1,
        toolchain_config = ":" + name + "_config",
    )
