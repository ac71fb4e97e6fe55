#!/usr/bin/env python3
"""Writes a single-layer OCI image archive that `ctr images import` (and `podman load`) reads.

    oci-archive.py NAME OUT.tar (--layer ROOTFS.tar | --file SRC:DEST ...) [--entrypoint JSON] [--cmd JSON]
                   [--env K=V ...] [--workdir DIR] [--user USER]

The layer is either a root filesystem tarball (mmdebstrap's output) or a few files placed at the given
paths. The archive names the image with io.containerd.image.name, which is how containerd's importer
tags it. Everything is content-addressed; nothing is fetched.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile

parser = argparse.ArgumentParser()
parser.add_argument('name')
parser.add_argument('out')
parser.add_argument('--layer')
parser.add_argument('--file', action='append', default=[])
parser.add_argument('--entrypoint')
parser.add_argument('--cmd')
parser.add_argument('--env', action='append', default=[])
parser.add_argument('--workdir')
parser.add_argument('--user')
args = parser.parse_args()
if bool(args.layer) == bool(args.file):
    parser.error('give either --layer or --file')

work = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(args.out)))
blobs = os.path.join(work, 'blobs', 'sha256')
os.makedirs(blobs)


def put_file(path):
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    hexdigest = digest.hexdigest()
    os.replace(path, os.path.join(blobs, hexdigest))
    return f'sha256:{hexdigest}', os.path.getsize(os.path.join(blobs, hexdigest))


def put_json(value):
    path = os.path.join(work, 'blob.json')
    with open(path, 'w') as f:
        json.dump(value, f, separators=(',', ':'), sort_keys=True)
    return put_file(path)


layer_path = os.path.join(work, 'layer.tar')
if args.layer:
    shutil.copyfile(args.layer, layer_path)
else:
    with tarfile.open(layer_path, 'w', format=tarfile.PAX_FORMAT) as tar:
        for spec in args.file:
            src, dest = spec.split(':', 1)
            info = tar.gettarinfo(src, arcname=dest.lstrip('/'))
            info.uid = info.gid = 0
            info.uname = info.gname = 'root'
            info.mtime = 0
            with open(src, 'rb') as f:
                tar.addfile(info, f)
layer_digest, layer_size = put_file(layer_path)

config = {'Env': args.env or ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']}
if args.entrypoint:
    config['Entrypoint'] = json.loads(args.entrypoint)
if args.cmd:
    config['Cmd'] = json.loads(args.cmd)
if args.workdir:
    config['WorkingDir'] = args.workdir
if args.user:
    config['User'] = args.user
config_digest, config_size = put_json(
    {
        'architecture': 'amd64',
        'os': 'linux',
        'config': config,
        'rootfs': {'type': 'layers', 'diff_ids': [layer_digest]},
        'history': [{'created_by': 'tests/cluster/oci-archive.py'}],
    }
)
manifest_digest, manifest_size = put_json(
    {
        'schemaVersion': 2,
        'mediaType': 'application/vnd.oci.image.manifest.v1+json',
        'config': {'mediaType': 'application/vnd.oci.image.config.v1+json', 'digest': config_digest, 'size': config_size},
        'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar', 'digest': layer_digest, 'size': layer_size}],
    }
)
index = {
    'schemaVersion': 2,
    'manifests': [
        {
            'mediaType': 'application/vnd.oci.image.manifest.v1+json',
            'digest': manifest_digest,
            'size': manifest_size,
            'platform': {'architecture': 'amd64', 'os': 'linux'},
            'annotations': {
                'io.containerd.image.name': args.name,
                'org.opencontainers.image.ref.name': args.name.rsplit(':', 1)[1],
            },
        }
    ],
}
with open(os.path.join(work, 'index.json'), 'w') as f:
    json.dump(index, f)
with open(os.path.join(work, 'oci-layout'), 'w') as f:
    json.dump({'imageLayoutVersion': '1.0.0'}, f)
tmp_out = args.out + '.partial'
with tarfile.open(tmp_out, 'w') as tar:
    for name in ('oci-layout', 'index.json', 'blobs'):
        tar.add(os.path.join(work, name), arcname=name)
os.replace(tmp_out, args.out)
shutil.rmtree(work)
