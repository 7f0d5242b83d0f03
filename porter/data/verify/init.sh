#!/bin/busybox sh
# porter verify: /init of the test initramfs (porter fills in the MODE, PFN_UUID, RW_MIB, MODULES values).
# Every line porter reads starts with "PORTER-" and is "KEY=VALUE" separated by spaces.
/bin/busybox mkdir -p /bin /proc /sys /dev /tmp
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "PORTER-INIT reached=1 kernel=$(uname -r)"

MODE="@@MODE@@"
PFN_UUID="@@PFN_UUID@@"
RW_MIB=@@RW_MIB@@
MODULES="@@MODULES@@"

for m in $MODULES; do
    if insmod "/lib/modules/porter/$m.ko" 2>/tmp/insmod.err; then
        echo "PORTER-MODULE name=$m status=ok"
    else
        echo "PORTER-MODULE name=$m status=fail error=$(tr ' \n' '__' </tmp/insmod.err)"
    fi
done

# nvdimm: the NFIT namespace comes up raw (no struct pages); re-bind it as fsdax through
# sysfs alone (what `ndctl create-namespace -f -e namespaceX.Y -m fsdax -M mem|dev` does).
rebind() {
    pfnmode="$1"
    ns=""
    i=0
    while [ $i -lt 50 ]; do
        for n in /sys/bus/nd/devices/namespace*.*; do
            [ -e "$n/size" ] || continue
            [ "$(cat "$n/size")" != "0" ] || continue
            ns="$n"
            break
        done
        [ -n "$ns" ] && break
        sleep 0.1
        i=$((i + 1))
    done
    if [ -z "$ns" ]; then
        echo "PORTER-REBIND status=fail step=namespace"
        return
    fi
    nsname="${ns##*/}"
    region="$(readlink -f "$ns/..")"
    seed="$(cat "$region/pfn_seed")"
    drv=/sys/bus/nd/drivers/nd_pmem
    if [ -e "$ns/driver" ]; then
        echo "$nsname" >"$drv/unbind" || { echo "PORTER-REBIND status=fail step=unbind"; return; }
    fi
    p=/sys/bus/nd/devices/$seed
    echo "$PFN_UUID" >"$p/uuid" || { echo "PORTER-REBIND status=fail step=uuid"; return; }
    echo "$pfnmode" >"$p/mode" || { echo "PORTER-REBIND status=fail step=mode"; return; }
    echo "$nsname" >"$p/namespace" || { echo "PORTER-REBIND status=fail step=namespace-set"; return; }
    echo "$seed" >"$drv/bind" || { echo "PORTER-REBIND status=fail step=bind"; return; }
    echo "PORTER-REBIND status=ok namespace=$nsname pfn=$seed mode=$pfnmode"
}

case "$MODE" in
    nvdimm-ram) rebind ram ;;
    nvdimm-pmem) rebind pmem ;;
esac

# wait up to 5 s for the pmem block devices
i=0
while [ $i -lt 50 ]; do
    set -- /sys/block/pmem*
    [ -e "$1" ] && break
    sleep 0.1
    i=$((i + 1))
done

dd if=/dev/urandom of=/tmp/pattern bs=1M count=$RW_MIB 2>/dev/null
ndev=0
nfail=0
for d in /sys/block/pmem*; do
    [ -e "$d/size" ] || continue
    name="${d##*/}"
    dev="/dev/$name"
    bytes=$(($(cat "$d/size") * 512))
    mib=$((bytes / 1048576))
    n=$RW_MIB
    [ $mib -lt $n ] && n=$mib
    ndev=$((ndev + 1))
    rw=ok
    if [ $n -lt 1 ] || [ ! -b "$dev" ]; then
        rw=fail-nodev
    else
        head -c $((n * 1048576)) /tmp/pattern >/tmp/pat
        for off in 0 $((mib - n)); do
            if ! dd if=/tmp/pat of="$dev" bs=1M seek=$off count=$n conv=fsync 2>/dev/null; then
                rw=fail-write
                break
            fi
            blockdev --flushbufs "$dev" 2>/dev/null
            if ! dd if="$dev" of=/tmp/back bs=1M skip=$off count=$n 2>/dev/null; then
                rw=fail-read
                break
            fi
            if ! cmp -s /tmp/pat /tmp/back; then
                rw=fail-compare
                break
            fi
        done
        rm -f /tmp/back /tmp/pat
    fi
    [ $rw = ok ] || nfail=$((nfail + 1))
    echo "PORTER-PMEM name=$name bytes=$bytes tested_mib=$n offsets=2 rw=$rw"
done
echo "PORTER-RESULT devices=$ndev rw_failed=$nfail"
echo "PORTER-END"
sync
reboot -f
sleep 10
