{{/*
aio.heapMiB: three quarters of a container's resources.limits.memory, in MiB, for V8's
--max-old-space-size. Node.js sizes its heap from the machine's memory, not the container's limit,
so without a cap the heap can grow past the limit and the kernel kills the process instead of V8
collecting garbage; the quarter left covers code, buffers and native memory. Empty without a
limit or for a quantity it does not read (it reads the suffixes Ki Mi Gi Ti k M G T).
*/}}
{{- define "aio.heapMiB" -}}
{{- $limit := "" -}}
{{- with .limits }}{{ with .memory }}{{ $limit = toString . }}{{ end }}{{ end -}}
{{- $number := regexFind "^[0-9]+([.][0-9]+)?" $limit -}}
{{- $unit := trimPrefix $number $limit -}}
{{- $mib := dict "" 0.00000095367431640625 "Ki" 0.0009765625 "Mi" 1.0 "Gi" 1024.0 "Ti" 1048576.0 "k" 0.00095367431640625 "M" 0.95367431640625 "G" 953.67431640625 "T" 953674.31640625 -}}
{{- if and $number (hasKey $mib $unit) -}}
{{- mulf (float64 $number) (get $mib $unit) 0.75 | floor | int -}}
{{- end -}}
{{- end -}}
