using System.CommandLine;
using WaferSharp.Cli;

// `wafer`: the command line of WaferSharp. Each verb lives in its own file under Commands/.
WaferSharp.Runtime.WaferRuntime.Register(); // wafer devices (wse3, wse2, mesh:WxH) for every verb
var root = new RootCommand("WaferSharp: train, compile and compare models on a simulated wafer-scale engine and on GPU clusters.");
foreach (var c in Commands.All()) root.Subcommands.Add(c);
return CliErrors.Invoke(root, args);
