# Build the Windows per-machine MSI: the PyInstaller one-folder app + an official libVLC, packed with WiX v5.
#
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1 [-VlcDir "C:\Program Files\VideoLAN\VLC"]
#
# Needs Python 3.11+ (py launcher or python on PATH), the .NET SDK 8 (for the `wix` tool) and an installed VLC 3
# (official build: it has live555, so RTSP works through libVLC). Writes build\package\rtic-console-VERSION-x64.msi.
param(
    [string]$VlcDir = "$env:ProgramFiles\VideoLAN\VLC",
    [string]$Out = "build\package",
    [string]$WixVersion = "5.0.2"
)
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

function Check($what) { if ($LASTEXITCODE -ne 0) { throw "$what failed (exit $LASTEXITCODE)" } }

if (-not (Test-Path "$VlcDir\libvlc.dll")) { throw "no libvlc.dll in $VlcDir: install VLC 3 or pass -VlcDir" }
if (-not (Test-Path "$VlcDir\plugins\access\liblive555_plugin.dll")) {
    Write-Warning "$VlcDir has no live555 plugin: RTSP through libVLC will not work (FFmpeg still plays RTSP)"
}

if (-not (Test-Path ".venv-win\Scripts\python.exe")) { python -m venv .venv-win; Check "python -m venv" }
$python = ".venv-win\Scripts\python.exe"
& $python -m pip install --quiet --disable-pip-version-check ".[package]"; Check "pip install"
$version = & $python -c "import sys; sys.path.insert(0, '.'); import console; print(console.__version__)"

& $python -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$Out\dist" --workpath "$Out\work" `
    installer\rtic-console.spec; Check "PyInstaller"
& $python installer\make_icons.py "$Out\icons"; Check "make_icons"

# The frozen app must pass its own self-test before it is packed.
$env:QT_QPA_PLATFORM = "offscreen"
& "$Out\dist\rtic-console\rtic-console.exe" self-test; Check "self-test of the frozen app"
Remove-Item Env:QT_QPA_PLATFORM

dotnet tool update --global wix --version $WixVersion; Check "dotnet tool wix"
wix extension add --global "WixToolset.Util.wixext/$WixVersion"; Check "wix extension add"
$msi = "$Out\rtic-console-$version-x64.msi"
wix build installer\windows\rtic-console.wxs -arch x64 -ext WixToolset.Util.wixext -d "Version=$version" `
    -bindpath "App=$Out\dist\rtic-console" -bindpath "Vlc=$VlcDir" -bindpath "Icons=$Out\icons" -o $msi
Check "wix build"
Write-Host "built $msi ($([math]::Round((Get-Item $msi).Length / 1MB)) MB)"
